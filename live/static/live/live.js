/* The live console in the browser: presence heartbeats on the order page, and polling for changes on the
   order page and the order list (live/views.py documents both endpoints). Polls and heartbeats run only
   while the tab is visible (Page Visibility API), and once at once when it becomes visible again. No build
   step: plain ES2017 for the browsers the admin supports. */
(function () {
  "use strict";

  const config = document.getElementById("live-config");
  if (!config) return;
  const data = config.dataset;
  const pollMs = Math.max(Number(data.pollInterval) || 15, 1) * 1000;
  const heartbeatMs = Math.max(Number(data.heartbeatInterval) || 20, 1) * 1000;
  const HIGHLIGHT_MS = 2500;

  function tabId() {
    // One id per browser tab: sessionStorage is per tab (and survives reloads of that tab).
    const key = "orderops-live-tab";
    let id = null;
    try {
      id = sessionStorage.getItem(key);
      if (!id) {
        id = (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2) + Date.now()).replace(/[^A-Za-z0-9_-]/g, "");
        sessionStorage.setItem(key, id);
      }
    } catch (error) {
      id = id || "t" + String(Math.random()).slice(2);
    }
    return id;
  }

  function every(ms, action) {
    // Run `action` every `ms` while the tab is visible; at once when it becomes visible again.
    let timer = null;
    function start() {
      stop();
      timer = window.setInterval(action, ms);
    }
    function stop() {
      if (timer !== null) window.clearInterval(timer);
      timer = null;
    }
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") {
        action();
        start();
      } else {
        stop();
      }
    });
    if (document.visibilityState === "visible") start();
  }

  function highlight(element) {
    element.classList.remove("live-changed");
    void element.offsetWidth; // restart the animation
    element.classList.add("live-changed");
    window.setTimeout(function () { element.classList.remove("live-changed"); }, HIGHLIGHT_MS);
  }

  async function getJson(url) {
    const response = await fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } });
    if (response.status === 304 || response.status === 204) return null;
    if (!response.ok) throw new Error("live: " + response.status);
    const text = await response.text();
    return text ? JSON.parse(text) : null;
  }

  // --- the order page -----------------------------------------------------------------------------------

  function orderPage() {
    const tab = tabId();
    const texts = document.getElementById("live-texts");
    let token = data.token;
    const loadedVersion = data.version;
    let editing = false;
    let readOnly = false;

    function heartbeatBody(state) {
      const body = new FormData();
      body.append("csrfmiddlewaretoken", data.csrf);
      body.append("tab", tab);
      body.append("order", data.order);
      body.append("state", state);
      return body;
    }

    function showPresence(presence) {
      const element = document.getElementById("live-presence");
      const others = document.getElementById("live-presence-others");
      const tabs = document.getElementById("live-presence-tabs");
      if (!element || !others || !tabs) return;
      const alone = presence.others.length === 0;
      others.textContent = alone ? texts.dataset.alone : presence.text;
      tabs.textContent = presence.tabs_text;
      element.classList.toggle("live-presence-alone", alone);
    }

    async function heartbeat() {
      try {
        const response = await fetch(data.heartbeatUrl, {
          method: "POST", body: heartbeatBody(editing ? "editing" : "viewing"),
          credentials: "same-origin", headers: { "X-CSRFToken": data.csrf, Accept: "application/json" },
        });
        if (response.ok) showPresence((await response.json()).presence);
      } catch (error) { /* the next heartbeat tries again; the time-out keeps presence right */ }
    }

    function startEditing(event) {
      if (editing || readOnly) return;
      const target = event.target;
      if (!target || !target.closest || !target.closest("#order_form, #timeline")) return;
      editing = true;
      heartbeat();
    }
    document.addEventListener("input", startEditing, true);

    function notice(text, kind, after) {
      const box = document.getElementById("live-notice");
      if (!box || !text) return;
      box.hidden = false;
      box.className = "live-notice live-notice-" + kind;
      const line = document.createElement("p");
      line.textContent = text;
      const more = document.createElement("p");
      more.className = "live-notice-more";
      if (after) more.append(after, " ");
      const reload = document.createElement("a");
      reload.href = window.location.pathname + window.location.search;
      reload.className = "button";
      reload.textContent = texts.dataset.reload;
      more.append(reload);
      box.replaceChildren(line, more);
      highlight(box);
    }

    function saveButtons() {
      return document.querySelectorAll('#order_form .submit-row input[type="submit"], #order_form .submit-row button, #order_form button[type="submit"]');
    }

    function updateBoxCommentOnly() {
      // The Update box keeps the comment (open to all); the status and the release were the holder's.
      const box = document.getElementById("update-form");
      if (!box) return;
      box.querySelectorAll("#update-status, #release-after").forEach(function (field) { field.disabled = true; });
      box.querySelectorAll('#update-status, label[for="update-status"], label.update-release').forEach(function (element) {
        element.hidden = true;
      });
      const button = document.getElementById("update-button");
      if (button && texts.dataset.addComment) button.textContent = texts.dataset.addComment;
    }

    function makeReadOnly() {
      if (readOnly) return;
      readOnly = true;
      updateBoxCommentOnly();
      // Typing can no longer save here: colleagues see this tab as viewing again.
      if (editing) { editing = false; heartbeat(); }
      const form = document.getElementById("order_form");
      if (!form) return;
      form.classList.add("live-read-only");
      // Typed text stays readable and copyable (read-only); what cannot be read-only is disabled.
      form.querySelectorAll("input, select, textarea, button").forEach(function (field) {
        if (field.type === "hidden") return;
        const typed = field.tagName === "TEXTAREA" ||
          (field.tagName === "INPUT" && !["checkbox", "radio", "submit", "button", "reset", "file"].includes(field.type));
        if (typed) field.readOnly = true;
        else field.disabled = true;
      });
    }

    async function poll() {
      const url = data.pollUrl + "?" + new URLSearchParams({ order: data.order, version: loadedVersion, token: token });
      let update;
      try {
        update = await getJson(url);
      } catch (error) { return; }
      if (!update) return;
      token = update.token;
      const banner = document.getElementById("hold-banner");
      if (banner && update.banner) {
        banner.outerHTML = update.banner;
        highlight(document.getElementById("hold-banner"));
      }
      const timeline = document.querySelector("#timeline .timeline-entries, #timeline > p.quiet:not(.timeline-note)");
      if (timeline && update.timeline) {
        timeline.outerHTML = update.timeline;
      }
      if (update.notice) {
        notice(update.notice, "lost", update.editable ? "" : texts.dataset.readOnly);
        document.dispatchEvent(new CustomEvent("orderops:notified")); // the bell counts it at once
      } else if (update.changed) {
        notice(update.changed, "changed");
      }
      if (update.changed) {
        saveButtons().forEach(function (button) { button.disabled = true; });
      }
      if (!update.editable) makeReadOnly();
      else if (data.editable === "0" && !readOnly && !update.notice && !update.changed) {
        // Loaded read-only, and now the viewer may change it (assigned to them meanwhile): say so.
        notice(texts.dataset.nowEditable, "changed");
      }
    }

    every(heartbeatMs, heartbeat);
    every(pollMs, poll);
    heartbeat();
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) { heartbeat(); poll(); } // back from the browser's cache, after a "gone"
    });
    window.addEventListener("pagehide", function () {
      // Best effort: the time-out is what makes presence right when this never arrives.
      if (navigator.sendBeacon) navigator.sendBeacon(data.heartbeatUrl, heartbeatBody("gone"));
    });
  }

  // --- the order list -----------------------------------------------------------------------------------

  function orderList() {
    const tokens = new Map();
    const eye = document.getElementById("live-eye");
    let first = true;

    function rows() {
      const found = new Map();
      document.querySelectorAll("#result_list tbody tr").forEach(function (row) {
        const box = row.querySelector("input.action-select");
        if (box && /^\d+$/.test(box.value)) found.set(box.value, row);
      });
      return found;
    }

    function showViewers(cell, row) {
      let icon = cell.querySelector(".live-viewers");
      if (!row.viewers.length) {
        if (icon) icon.remove();
        return;
      }
      if (!icon) {
        icon = document.createElement("span");
        icon.className = "live-viewers";
        icon.dataset.testid = "viewers";
        icon.innerHTML = eye ? eye.innerHTML : "";
        cell.prepend(icon);
      }
      icon.title = row.viewers_text;
      icon.setAttribute("aria-label", row.viewers_text);
    }

    async function poll() {
      const shown = rows();
      if (!shown.size) return;
      const orders = Array.from(shown.keys(), function (id) { return id + "." + (tokens.get(id) || ""); });
      let update;
      try {
        update = await getJson(data.pollUrl + "?" + new URLSearchParams({ orders: orders.join(",") }));
      } catch (error) { return; }
      if (!update) return;
      let moved = false;
      update.rows.forEach(function (row) {
        const id = String(row.id);
        const tr = shown.get(id);
        if (!tr) return;
        const holder = tr.querySelector("td.field-assigned_to, th.field-assigned_to");
        const status = tr.querySelector("td.field-status_badge, th.field-status_badge");
        const before = holder ? holder.textContent + (status ? status.textContent : "") : "";
        if (holder) holder.innerHTML = row.assigned_to;
        if (status) status.innerHTML = row.status;
        if (holder) showViewers(holder, row);
        const after = holder ? holder.textContent + (status ? status.textContent : "") : "";
        if (!first && before !== after) { highlight(tr); moved = true; }
        tokens.set(id, row.token);
      });
      // A row changed holder or status: the navigation's queue counts ask again (console.js).
      if (moved) document.dispatchEvent(new CustomEvent("orderops:orders-changed"));
      first = false;
    }

    every(pollMs, poll);
    poll(); // the first poll fills the eye icons and the rows' tokens
  }

  if (data.mode === "order") orderPage();
  else if (data.mode === "list") orderList();
})();
