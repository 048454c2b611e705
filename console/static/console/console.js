// The console's behaviour on top of Django's admin: a state-changing form is sent once.
// The server is the guarantee (console/once.py answers a repeated token with the first result); this
// spares the second request and shows that the click was taken.
"use strict";
document.addEventListener("submit", function (event) {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.querySelector('input[name="submit_token"]')) {
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
}, true);

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
