"""All text a person reads goes through gettext, and the Bulgarian catalogs (locale/bg/LC_MESSAGES/django.po,
and djangojs.po for the scripts) are current and complete: a fresh `makemessages` finds exactly their
messages, a sample of the console's own sentences among them, the console's templates hold no text outside
{% translate %}, its Python hands no bare string to a message, every message is translated (none fuzzy), the
catalogs compile, and the committed .mo files are the compiled .po files (the demo needs no gettext)."""

import ast
import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CATALOG = REPO / "locale" / "bg" / "LC_MESSAGES" / "django.po"
# What makemessages leaves out: tests, benchmarks, documents, build output, the catalog itself.
NOT_EXTRACTED = {"tests", "bench", "build", "docs", "test-artifacts", "static", "node_modules", "locale"}
JS_CATALOG = REPO / "locale" / "bg" / "LC_MESSAGES" / "djangojs.po"
REGENERATE = (
    "DEBUG=1 .venv/bin/python manage.py makemessages -l bg --no-obsolete --add-location=file "
    + " ".join(f"--ignore={name}" for name in sorted(NOT_EXTRACTED - {"locale"}))
    + " --ignore=*.egg-info"
)
# The scripts live in the apps' static/ folders: only the project's collected static/ is left out.
REGENERATE_JS = (
    "DEBUG=1 .venv/bin/python manage.py makemessages -d djangojs -l bg --no-obsolete --add-location=file "
    + " ".join(f"--ignore={name}" for name in sorted(NOT_EXTRACTED - {"locale", "static"}))
    + " --ignore=staticfiles --ignore=*.egg-info"
)
AFTERWARDS = (
    "then translate the new messages (docs/glossary.md has the terms), and compile: "
    "DEBUG=1 .venv/bin/python manage.py compilemessages -l bg --ignore=.venv"
)
# Sentences of the console, from its Python and its templates: unmarked, they would be missing here.
CONSOLE_SAMPLE = [
    "Ready for the next order?",  # console/flow.py
    "%(status)s (ends the hold)",  # console/order_page.py, console/forms.py
    "#%(number)s was not updated: write a comment or choose a status.",  # console/forms.py
    "Nothing was saved: %(reason)s",  # console/admin.py
    "#%(number)s is now %(status)s.",  # console/update.py
    "Get next order",  # the list's and the order page's templates
    "Release after update",  # the Update box
    "Internal comment",
    "%(status)s (no change)",
    "this ends the hold, and only a supervisor can reopen the order. Go ahead?",
    "Assigned to %(holder)s by %(assigner)s, %(age)s",  # the hold banner
    "Queues",  # console/templates/console/queues.html
]


def catalog_ids(text: str) -> set[str]:
    """The messages of a .po file: msgid (with its msgctxt, if any), its continuation lines joined."""
    ids, context, current, field = set(), "", None, ""
    for line in [*text.splitlines(), ""]:
        if line.startswith('"') and current is not None:
            current += ast.literal_eval(line)
            continue
        if field == "msgid" and current:
            ids.add(f"{context}\x04{current}" if context else current)
        if field == "msgid":
            context = ""
        if field == "msgctxt" and current is not None:
            context = current
        field, current = "", None
        for name in ("msgctxt", "msgid"):
            if line.startswith(name + " "):
                field, current = name, ast.literal_eval(line[len(name) + 1 :])
    return ids


def _copied(source: Path, names: list[str]) -> set[str]:
    top = source == REPO
    return {
        name
        for name in names
        if name == "__pycache__"
        or name.endswith((".pyc", ".sqlite3", ".egg-info"))
        or (top and (name.startswith(".") or name in NOT_EXTRACTED))
    }


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> set[str]:
    """The messages a fresh makemessages finds in the project's code, run on a copy (the real catalog
    stays as it is)."""
    copy = tmp_path_factory.mktemp("messages") / "project"
    shutil.copytree(REPO, copy, ignore=lambda folder, names: _copied(Path(folder), names))
    (copy / "locale").mkdir()
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "bg", "--add-location=file"],
        cwd=copy,
        env=env,
        check=True,
        capture_output=True,
    )
    return catalog_ids((copy / "locale" / "bg" / "LC_MESSAGES" / "django.po").read_text())


@pytest.fixture(scope="module")
def extracted_js(tmp_path_factory) -> set[str]:
    """The messages a fresh makemessages finds in the apps' scripts (console/static, live/static)."""
    copy = tmp_path_factory.mktemp("js-messages") / "project"
    shutil.copytree(REPO, copy, ignore=lambda folder, names: _copied_js(Path(folder), names))
    (copy / "locale").mkdir()
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-d", "djangojs", "-l", "bg", "--add-location=file"],
        cwd=copy,
        env=env,
        check=True,
        capture_output=True,
    )
    produced = copy / "locale" / "bg" / "LC_MESSAGES" / "djangojs.po"
    return catalog_ids(produced.read_text()) if produced.exists() else set()


def _copied_js(source: Path, names: list[str]) -> set[str]:
    # As _copied, but the apps' static/ folders come along: their scripts are what is extracted.
    top = source == REPO
    return {
        name
        for name in names
        if name == "__pycache__"
        or name.endswith((".pyc", ".sqlite3", ".egg-info"))
        or (top and (name.startswith(".") or name in NOT_EXTRACTED or name == "staticfiles"))
    }


def test_the_catalog_holds_exactly_what_the_code_marks(extracted):
    committed = catalog_ids(CATALOG.read_text())
    missing, gone = sorted(extracted - committed), sorted(committed - extracted)
    assert not missing and not gone, (
        f"locale/bg/LC_MESSAGES/django.po is not current ({len(missing)} new, {len(gone)} gone, e.g. "
        f"{(missing or gone)[:3]}): run {REGENERATE}; {AFTERWARDS}"
    )


def test_the_script_catalog_holds_exactly_what_the_scripts_mark(extracted_js):
    committed = catalog_ids(JS_CATALOG.read_text())
    missing, gone = sorted(extracted_js - committed), sorted(committed - extracted_js)
    assert extracted_js, "no script message found: is console.js's gettext(...) still there?"
    assert not missing and not gone, (
        f"locale/bg/LC_MESSAGES/djangojs.po is not current ({len(missing)} new, {len(gone)} gone, e.g. "
        f"{(missing or gone)[:3]}): run {REGENERATE_JS}; {AFTERWARDS}"
    )


@pytest.mark.parametrize("sentence", CONSOLE_SAMPLE)
def test_the_consoles_sentences_are_marked_for_translation(extracted, sentence):
    assert sentence in extracted


@pytest.mark.parametrize("catalog", [CATALOG, JS_CATALOG], ids=lambda path: path.name)
def test_the_catalog_compiles_with_every_message_translated_and_none_fuzzy(tmp_path, catalog):
    # What compilemessages runs (with msgfmt's full --check), written to a temporary file instead of beside
    # the catalog; --statistics says how many are translated, fuzzy, untranslated.
    if shutil.which("msgfmt") is None:
        pytest.fail("compilemessages needs GNU gettext's msgfmt: apt-get install gettext")
    compiled = tmp_path / catalog.with_suffix(".mo").name
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", str(compiled), str(catalog)],
        capture_output=True,
        text=True,
        env={**os.environ, "LC_ALL": "C"},
    )
    assert result.returncode == 0, result.stderr
    assert "fuzzy" not in result.stderr and "untranslated" not in result.stderr, (
        f"{catalog.relative_to(REPO)}: {result.stderr.strip()}: translate them (docs/glossary.md), drop the "
        f"fuzzy flags once checked, and {AFTERWARDS.split(', and ')[-1]}"
    )
    committed = catalog.with_suffix(".mo")
    assert committed.exists(), f"{committed.relative_to(REPO)} is missing: {AFTERWARDS.split(', and ')[-1]}"
    with compiled.open("rb") as fresh, committed.open("rb") as kept:
        assert gettext.GNUTranslations(fresh)._catalog == gettext.GNUTranslations(kept)._catalog, (
            f"{committed.relative_to(REPO)} is not the compiled {catalog.name}: "
            f"{AFTERWARDS.split(', and ')[-1]}"
        )


# --- no text outside gettext --------------------------------------------------------------------------------

TEMPLATE_DIRS = [REPO / "console" / "templates"]
# Names that are not words of any language.
NOT_WORDS = {"orderops"}
# Attributes whose values people read (or hear).
READ_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")


def literal_text(template: str) -> list[str]:
    """The words of a template that a person would read but that no {% translate %} carries."""
    text = re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", " ", template, flags=re.S)
    text = re.sub(r"{#.*?#}", " ", text, flags=re.S)
    # The page's class names, not its text.
    text = re.sub(r"{%\s*block bodyclass\s*%}.*?{%\s*endblock\b.*?%}", " ", text, flags=re.S)
    text = re.sub(r"{%\s*blocktranslate\b.*?{%\s*endblocktranslate\s*%}", " ", text, flags=re.S)
    text = re.sub(r"{%.*?%}|{{.*?}}", " ", text, flags=re.S)
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S)
    read = [value for name in READ_ATTRIBUTES for value in re.findall(rf'\s{name}="([^"]*)"', text)]
    visible = re.sub(r"<[^>]*>", " ", text)
    visible = re.sub(r"&[a-z]+;|&#\d+;", " ", visible)
    words = re.findall(r"[^\W\d_]{2,}", " ".join([visible, *read]))
    return [word for word in words if word.lower() not in NOT_WORDS]


def test_the_checker_finds_literal_text_and_passes_translated_text():
    assert literal_text("<p>Hello {{ name }}</p>") == ["Hello"]
    assert literal_text('<input placeholder="Search orders">') == ["Search", "orders"]
    assert literal_text('<p>{% translate "Hello" %} — {{ name }} (#{{ number }})</p>') == []
    assert literal_text("{% blocktranslate %}Hi {{ you }}{% endblocktranslate %}{# a note #}") == []
    assert literal_text('<a title="{% translate "Open" %}" href="/x/">{{ label }}</a>') == []


@pytest.mark.parametrize(
    "template",
    sorted(path for folder in TEMPLATE_DIRS for path in folder.rglob("*.html")),
    ids=lambda path: str(path.relative_to(REPO)),
)
def test_the_consoles_templates_carry_no_untranslated_text(template):
    assert literal_text(template.read_text()) == []


# Calls whose (first) text argument a person reads.
MESSAGE_CALLS = {"message_user": 1, "RequestRefused": 0, "ValidationError": 0, "Refusal": 1}
MESSAGE_LEVELS = {"debug", "info", "success", "warning", "error", "add_message"}


def bare_strings(source: str) -> list[int]:
    """Lines where a string literal (or an f-string, or a literal % values) is handed to a message."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
        position = MESSAGE_CALLS.get(name or "")
        owner = getattr(node.func, "value", None)
        if position is None and name in MESSAGE_LEVELS and getattr(owner, "id", None) == "messages":
            position = 2 if name == "add_message" else 1
        if position is None or len(node.args) <= position:
            continue
        argument = node.args[position]
        if isinstance(argument, ast.BinOp) and isinstance(argument.op, ast.Mod):
            argument = argument.left
        if isinstance(argument, ast.JoinedStr) or (
            isinstance(argument, ast.Constant) and isinstance(argument.value, str) and argument.value.strip()
        ):
            found.append(node.lineno)
    return found


def test_the_python_checker_finds_bare_strings():
    assert bare_strings('self.message_user(request, "Saved.", messages.SUCCESS)') == [1]
    assert bare_strings('raise RequestRefused(f"#{number} is gone")') == [1]
    assert bare_strings('messages.info(request, "Ready %s" % x)') == [1]
    assert bare_strings('self.message_user(request, _("Saved."))\nmessages.info(request, text)') == []


@pytest.mark.parametrize(
    "module", sorted((REPO / "console").rglob("*.py")), ids=lambda path: str(path.relative_to(REPO))
)
def test_the_consoles_python_hands_no_bare_string_to_a_message(module):
    assert bare_strings(module.read_text()) == []
