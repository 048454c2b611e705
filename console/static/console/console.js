// The console's behaviour on top of Django's admin: a state-changing form is sent once.
// The server is the guarantee (console/once.py answers a repeated token with the first result); this
// spares the second request and shows that the click was taken.
"use strict";
// Bubble phase: the page's own checks (a question asked first) have run, and may have cancelled the submit.
document.addEventListener("submit", function (event) {
  const form = event.target;
  if (event.defaultPrevented || !(form instanceof HTMLFormElement) ||
      !form.querySelector('input[name="submit_token"]')) {
    return;
  }
  if (form.dataset.submitted) {
    event.preventDefault();
    return;
  }
  form.dataset.submitted = "1";
  // Not `disabled`: a disabled submit button would drop its own name from the form (Save / Save and
  // continue are told apart by it).
  form.querySelectorAll('button[type="submit"], input[type="submit"]').forEach(function (button) {
    button.classList.add("is-submitting");
    button.setAttribute("aria-disabled", "true");
  });
});

// Back to a page from the browser's cache: its forms may be sent again (with a new token after a reload).
window.addEventListener("pageshow", function (event) {
  if (!event.persisted) {
    return;
  }
  document.querySelectorAll("form[data-submitted]").forEach(function (form) {
    delete form.dataset.submitted;
    form.querySelectorAll(".is-submitting").forEach(function (button) {
      button.classList.remove("is-submitting");
      button.removeAttribute("aria-disabled");
    });
  });
});

// The navigation's queue counts: fetched after the page has loaded, again every 30 s while the tab is seen.
(function () {
  const REFRESH_MS = 30000;
  function fill(box) {
    fetch(box.dataset.queueCounts, {headers: {Accept: "application/json"}, credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        Object.entries(data.queues).forEach(function ([key, value]) {
          const cell = box.querySelector('[data-queue-count="' + key + '"]');
          if (cell) {
            const shown = value.count.toLocaleString();
            cell.textContent = value.estimated ? "~" + shown : shown;
          }
        });
      })
      .catch(function () { /* counts are a convenience: the links work without them */ });
  }
  document.addEventListener("DOMContentLoaded", function () {
    const box = document.querySelector("[data-queue-counts]");
    if (!box) { return; }
    fill(box);
    setInterval(function () { if (document.visibilityState === "visible") { fill(box); } }, REFRESH_MS);
  });
})();

// The order page: one page, two forms (the order's fields, the comment box), and nothing typed is lost.
document.addEventListener("DOMContentLoaded", function () {
  const orderForm = document.getElementById("order_form");
  const commentForm = document.getElementById("comment-form");
  const commentBox = document.getElementById("comment-body");
  if (!orderForm) {
    return;
  }
  let dirty = false;
  orderForm.addEventListener("input", function () { dirty = true; });
  orderForm.addEventListener("change", function () { dirty = true; });

  // Save takes the comment box along: the comment is added with the order's changes, in the same submit.
  orderForm.addEventListener("submit", function (event) {
    const carried = orderForm.querySelector('input[name="update_comment"]');
    if (carried && commentBox) {
      carried.value = commentBox.value;
    }
    const status = orderForm.querySelector('select[name="status"]');
    const chosen = status && status.selectedOptions[0];
    if (chosen && chosen.dataset.final && !chosen.defaultSelected) {
      const texts = document.getElementById("console-texts");
      const question = chosen.textContent.trim() + ": " + ((texts && texts.dataset.finalQuestion) ||
        "saving ends the hold, and only a supervisor can reopen the order. Save?");
      if (!window.confirm(question)) {
        event.preventDefault();
      }
    }
  }, true);

  // Adding a comment leaves the page: say so when the order's own fields hold unsaved changes.
  if (commentForm) {
    commentForm.addEventListener("submit", function (event) {
      if (dirty && !window.confirm(commentForm.dataset.unsavedQuestion ||
          "Your changes to the order's fields are not saved. Add the comment and leave them?")) {
        event.preventDefault();
      }
    }, true);
  }
});

// Keyboard shortcuts: n next order, a assign, r release, c comment, j/k move between rows, Enter open, ? list.
(function () {
  const KEYS = [
    ["n", "#claim-next", "click"],
    ["a", "#assign-button", "click"],
    ["r", "#release-button", "click"],
    ["c", "#comment-body", "focus"],
  ];
  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable=true]") !== null;
  }
  function rows() {
    return Array.from(document.querySelectorAll("#result_list tbody tr"));
  }
  function moveRow(step) {
    const all = rows();
    if (!all.length) { return; }
    const current = all.findIndex(function (row) { return row.classList.contains("keyboard-current"); });
    const next = Math.min(Math.max(current + step, 0), all.length - 1);
    all.forEach(function (row) { row.classList.remove("keyboard-current"); });
    all[next].classList.add("keyboard-current");
    all[next].scrollIntoView({block: "nearest"});
    const link = all[next].querySelector("th a");
    if (link) { link.focus(); }
  }
  function overlay() {
    let box = document.getElementById("shortcut-overlay");
    if (box) { box.hidden = !box.hidden; return; }
    const source = document.getElementById("console-shortcuts");
    if (!source) { return; }
    box = document.createElement("div");
    box.id = "shortcut-overlay";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-label", source.dataset.title);
    box.append(source.content.cloneNode(true));
    box.addEventListener("click", function () { box.hidden = true; });
    document.body.append(box);
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    if (event.key === "?") { overlay(); event.preventDefault(); return; }
    if (event.key === "Escape") {
      const box = document.getElementById("shortcut-overlay");
      if (box) { box.hidden = true; }
      return;
    }
    if (event.key === "j" || event.key === "k") { moveRow(event.key === "j" ? 1 : -1); event.preventDefault(); return; }
    const found = KEYS.find(function (entry) { return entry[0] === event.key; });
    if (!found) { return; }
    const element = document.querySelector(found[1]);
    if (!element) { return; }
    event.preventDefault();
    if (found[2] === "click") { element.click(); } else { element.focus(); }
  });
})();
