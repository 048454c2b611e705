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

// The order page: the order's fields (the order form) and the Update box (a comment, a status, release
// after update) are sent as one submit, and nothing typed is lost: with the fields edited too, the Update
// box goes through the order form's Save, which saves them all (console/update.py); Save takes the box
// along. Leaving the page with unsaved input asks first (not when the page's own forms are sent).
document.addEventListener("DOMContentLoaded", function () {
  const orderForm = document.getElementById("order_form");
  const updateForm = document.getElementById("update-form");
  if (!orderForm) {
    return;
  }
  const texts = document.getElementById("console-texts");
  const commentBox = document.getElementById("comment-body");
  const statusChoice = document.getElementById("update-status");
  const releaseAfter = document.getElementById("release-after");
  const continueButton = orderForm.querySelector('input[name="_continue"]');
  // A refused save shown again: the form holds input that was not saved.
  const inputKept = Boolean(texts && texts.dataset.inputKept);
  let leaving = false;

  function edited(element) {
    if (element.type === "checkbox" || element.type === "radio") {
      return element.checked !== element.defaultChecked;
    }
    if (element.tagName === "SELECT") {
      return Array.from(element.options).some(function (option) { return option.selected !== option.defaultSelected; });
    }
    return "defaultValue" in element && element.value !== element.defaultValue;
  }
  function orderEdited() {
    if (!continueButton) { return false; }  // read-only: nothing there can be edited
    return inputKept || Array.from(orderForm.elements).some(function (element) {
      return !["hidden", "submit", "button", "reset"].includes(element.type) && !element.disabled &&
        !element.name.includes("__prefix__") && edited(element);
    });
  }
  function updateTyped() {
    return Boolean((commentBox && commentBox.value.trim()) || (statusChoice && statusChoice.value));
  }
  // A final status ends the hold: asked once per submit, whichever button sent it.
  function finalStatusAccepted() {
    const chosen = statusChoice && statusChoice.selectedOptions[0];
    if (!chosen || !chosen.dataset.final) { return true; }
    const question = chosen.textContent.trim() + ": " + ((texts && texts.dataset.finalQuestion) ||
      window.gettext("this ends the hold, and only a supervisor can reopen the order. Go ahead?"));
    return window.confirm(question);
  }
  function carry() {
    const put = function (name, value) {
      const field = orderForm.querySelector('input[name="' + name + '"]');
      if (field) { field.value = value; }
    };
    put("update_comment", commentBox ? commentBox.value : "");
    put("update_status", statusChoice ? statusChoice.value : "");
    put("update_release", releaseAfter && releaseAfter.checked ? "1" : "");
  }

  orderForm.addEventListener("submit", function (event) {
    carry();
    if (orderForm.dataset.asked) {
      delete orderForm.dataset.asked;
    } else if (!finalStatusAccepted()) {
      event.preventDefault();
    }
  }, true);

  if (updateForm) {
    updateForm.addEventListener("submit", function (event) {
      if (!finalStatusAccepted()) {
        event.preventDefault();
        return;
      }
      if (orderEdited()) {
        // One submit: the box and the order's edited fields, through the order form.
        event.preventDefault();
        let marker = orderForm.querySelector('input[name="_update"]');
        if (!marker) {
          marker = document.createElement("input");
          marker.type = "hidden";
          marker.name = "_update";
          marker.value = "1";
          orderForm.append(marker);
        }
        orderForm.dataset.asked = "1";
        orderForm.requestSubmit(continueButton);
      }
    }, true);
  }

  // Back, then Update: the page comes again with new tokens, and Chromium puts what was typed back in the
  // box. That input was sent already, under the token this page's history entry remembers: sent again
  // untouched, it goes with that token, and the server answers it with the first submit's result
  // (console/once.py) instead of adding the comment twice. Anything typed or chosen on this page makes it a
  // new submit, with this page's own token (the server's, from the attribute: Chromium may restore a value
  // set here).
  const HISTORY_KEY = "orderopsUpdateToken";
  let touched = false;
  [orderForm, updateForm].forEach(function (form) {
    if (!form) { return; }
    form.addEventListener("input", function () { touched = true; });
    form.addEventListener("change", function () { touched = true; });
  });
  function updateRestored() {
    return Boolean((commentBox && commentBox.value.trim() && commentBox.value !== commentBox.defaultValue) ||
      (statusChoice && edited(statusChoice)) || (releaseAfter && edited(releaseAfter)));
  }
  // Bubble phase: after the questions above and the double-click guard, which may cancel the submit.
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (event.defaultPrevented || (form !== orderForm && form !== updateForm)) { return; }
    const token = form.querySelector('input[name="submit_token"]');
    if (!token) { return; }
    const sent = history.state && history.state[HISTORY_KEY];
    token.value = !touched && sent && updateRestored() ? sent : token.getAttribute("value");
    history.replaceState(Object.assign({}, history.state, {[HISTORY_KEY]: token.value}), "");
  });

  // The page's own submits leave it on purpose (bubble phase: after the questions above, which may cancel).
  document.addEventListener("submit", function (event) {
    if (!event.defaultPrevented) { leaving = true; }
  });
  window.addEventListener("pageshow", function () { leaving = false; });
  window.addEventListener("beforeunload", function (event) {
    if (leaving || !(orderEdited() || updateTyped())) { return; }
    event.preventDefault();
    event.returnValue = "";  // older browsers need a value to ask
  });
});

// Keyboard shortcuts: n next order, a assign, r release (asked first), c comment, j/k move between rows, Enter open, ? list.
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
  function releaseQuestion(button) {
    const texts = document.getElementById("console-texts");
    return (texts && texts.dataset.releaseQuestion) || button.textContent.trim() + "?";
  }
  // On the list, a takes the highlighted order through the list's own "Assign to me" action: its refusals
  // and messages, and its form is sent once (a second a finds it sent and does nothing).
  function takeHighlighted() {
    const row = document.querySelector("#result_list tbody tr.keyboard-current");
    const form = document.getElementById("changelist-form");
    const box = row && row.querySelector("input.action-select");
    const action = form && form.querySelector('select[name="action"]');
    if (!box || !action || !action.querySelector('option[value="assign_to_me"]')) { return false; }
    if (form.dataset.submitted) { return true; }
    form.querySelectorAll("input.action-select").forEach(function (other) { other.checked = other === box; });
    const across = form.querySelector('input[name="select_across"]');
    if (across) { across.value = "0"; }
    action.value = "assign_to_me";
    form.requestSubmit(form.querySelector('.actions button[name="index"]') || undefined);
    return true;
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
    if (event.key === "a" && takeHighlighted()) { event.preventDefault(); return; }
    const found = KEYS.find(function (entry) { return entry[0] === event.key; });
    if (!found) { return; }
    const element = document.querySelector(found[1]);
    if (!element) { return; }
    event.preventDefault();
    // A key is easy to press by mistake: a release (which lets anyone take the order) asks first.
    if (found[0] === "r" && !window.confirm(releaseQuestion(element))) { return; }
    if (found[2] === "click") { element.click(); } else { element.focus(); }
  });
})();

// The order list's filter bar: one menu open at a time, closed by a click elsewhere or Esc.
(function () {
  const bar = document.getElementById("order-filter-bar");
  if (!bar) { return; }
  const menus = Array.from(bar.querySelectorAll("details.filter-menu"));
  menus.forEach(function (menu) {
    menu.addEventListener("toggle", function () {
      if (menu.open) { menus.forEach(function (other) { if (other !== menu) { other.open = false; } }); }
    });
  });
  document.addEventListener("click", function (event) {
    if (!bar.contains(event.target)) { menus.forEach(function (menu) { menu.open = false; }); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    const open = menus.find(function (menu) { return menu.open; });
    if (open) { open.open = false; open.querySelector("summary").focus(); }
  });
})();
