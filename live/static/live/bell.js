/* The console header's notification bell: fetch the unread count at once, then every interval while the
   tab is visible (none while hidden; one fetch on coming back). The count only ever comes from the server. */
(function () {
  "use strict";

  const bell = document.getElementById("notification-bell");
  if (!bell || !window.fetch) {
    return;
  }
  const badge = bell.querySelector(".notification-count");
  const intervalMs = Math.max(Number(bell.dataset.interval) || 15, 0.2) * 1000;
  let timer = null;
  let inFlight = false;

  function show(count) {
    badge.textContent = count > 99 ? "99+" : String(count);
    badge.hidden = count === 0;
    bell.classList.toggle("has-unread", count > 0);
    const label = count > 0 ? bell.dataset.labelSome.replace("%(count)s", String(count)) : bell.dataset.labelNone;
    bell.setAttribute("aria-label", label);
    bell.title = label;
    bell.dataset.unread = String(count);
  }

  async function refresh() {
    if (inFlight) {
      return;
    }
    inFlight = true;
    try {
      const response = await fetch(bell.dataset.unreadUrl, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "application/json" },
      });
      if (response.ok) {
        const data = await response.json();
        if (typeof data.unread === "number") {
          show(data.unread);
        }
      }
    } catch (error) {
      // Offline or the server restarting: keep the last count, try again at the next tick.
    } finally {
      inFlight = false;
    }
  }

  function schedule() {
    if (timer !== null) {
      clearInterval(timer);
      timer = null;
    }
    if (document.visibilityState === "visible") {
      timer = setInterval(refresh, intervalMs);
    }
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      refresh();
    }
    schedule();
  });
  // A page restored from the back-forward cache shows its old count: ask again.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      refresh();
    }
  });
  // The live console saw something happen to this person (a take-over on the open page): ask now.
  document.addEventListener("orderops:notified", refresh);
  refresh();
  schedule();
})();
