/* The live console in the browser: one request per open tab per interval (live:sync, documented in
   console/live_views.py) carries what is due of the order page's presence heartbeat and its changes, the
   list's rows, the bell's count and the navigation's queue counts. It runs only while the tab is visible
   (Page Visibility API), and at once when it becomes visible again. No build step: plain ES2017 for the
   browsers the admin supports. */
(function () {
  "use strict";

  const syncConfig = document.getElementById("live-sync");
  if (!syncConfig || !window.fetch) return;
  const syncUrl = syncConfig.dataset.url;
  const tickMs = Math.max(Number(syncConfig.dataset.interval) || 15, 0.2) * 1000;
  const config = document.getElementById("live-config");
  const data = config ? config.dataset : {};
  const HIGHLIGHT_MS = 2500;
  const seconds = function (value, fallback) { return Math.max(Number(value) || fallback, 0.2) * 1000; };

  // The parts a tick may carry: each is sent when waiting for the next tick would make it late (so with the
  // default intervals, 15 s ticks carry the heartbeat (20 s), the changes and the bell (15 s) every time and
  // the queue counts (30 s) every other time).
  const parts = [];
  function part(name, intervalMs, add, take, post) {
    const entry = { name: name, intervalMs: intervalMs, add: add, take: take, post: Boolean(post), last: -Infinity };
    parts.push(entry);
    return entry;
  }
  function due(entry, now) { return now - entry.last + tickMs / 2 >= entry.intervalMs; }

  let inFlight = false;
  let waiting = [];
  async function send(chosen, mustGo) {
    if (!chosen.length) return;
    if (inFlight) {
      // A tick's answer under way is as fresh, and the next tick asks again; what must go (the heartbeat
      // that says the person started typing) goes right after it.
      if (mustGo) waiting = waiting.concat(chosen);
      return;
    }
    inFlight = true;
    const now = Date.now();
    const params = new URLSearchParams();
    chosen.forEach(function (entry) { entry.last = now; entry.add(params); });
    const post = chosen.some(function (entry) { return entry.post; });
    let answer = null;
    try {
      const response = post
        ? await fetch(syncUrl, {
          method: "POST", body: params, credentials: "same-origin", cache: "no-store",
          headers: { "X-CSRFToken": data.csrf || "", Accept: "application/json" },
        })
        : await fetch(syncUrl + "?" + params, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } });
      if (response.ok) answer = await response.json();
    } catch (error) {
      // Offline or the server restarting: keep what is shown, try again at the next tick.
    } finally {
      inFlight = false;
    }
    if (answer) parts.forEach(function (entry) { entry.take(answer); });
    if (waiting.length) {
      const next = Array.from(new Set(waiting));
      waiting = [];
      send(next, true);
    }
  }
  function tick(all) {
    const now = Date.now();
    send(parts.filter(function (entry) { return all || due(entry, now); }));
  }

  let timer = null;
  function start() {
    stop();
    timer = window.setInterval(function () { tick(false); }, tickMs);
  }
  function stop() {
    if (timer !== null) window.clearInterval(timer);
    timer = null;
  }

  function highlight(element) {
    element.classList.remove("live-changed");
    void element.offsetWidth; // restart the animation
    element.classList.add("live-changed");
    window.setTimeout(function () { element.classList.remove("live-changed"); }, HIGHLIGHT_MS);
  }

  // --- the order page -----------------------------------------------------------------------------------

  function orderPage() {
    const tab = data.tab;
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
    const pollMs = seconds(data.pollInterval, 15);
    const heartbeatMs = seconds(data.heartbeatInterval, 20);

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

    const heartbeatPart = part("heartbeat", heartbeatMs, function (params) {
      params.set("csrfmiddlewaretoken", data.csrf);
      params.set("tab", tab);
      params.set("order", data.order);
      params.set("state", editing ? "editing" : "viewing");
    }, function (answer) {
      if (answer.presence) showPresence(answer.presence);
      const tabs = document.getElementById("live-presence-tabs");
      // Too many of this person's tabs are open: this one is not counted, and says so (the server's words).
      if (answer.presence_refused && tabs) tabs.textContent = answer.presence_refused.message;
    }, true);
    function heartbeat() { send([heartbeatPart], true); }

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
      // Editing the items is no longer this person's to do: the step's button goes with the form.
      document.querySelectorAll(".glance-edit").forEach(function (element) { element.hidden = true; });
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

    part("page", pollMs, function (params) {
      params.set("order", data.order);
      params.set("version", loadedVersion);
      params.set("token", token);
    }, function (answer) {
      if (answer.page) showChanges(answer.page);
    });

    function showChanges(update) {
      token = update.token;
      const banner = document.getElementById("hold-banner");
      if (banner && update.banner) {
        // A reason being typed for a release or a take-over survives the banner's redraw.
        const reason = document.getElementById("hold-reason");
        const typed = reason ? reason.value : "";
        banner.outerHTML = update.banner;
        const again = document.getElementById("hold-reason");
        if (again && typed) again.value = typed;
        highlight(document.getElementById("hold-banner"));
      }
      const timeline = document.querySelector("#timeline .timeline-entries, #timeline > p.quiet:not(.timeline-note)");
      if (timeline && update.timeline) {
        timeline.outerHTML = update.timeline;
      }
      if (update.notice) {
        notice(update.notice, "lost", update.editable ? "" : texts.dataset.readOnly); // the bell counts it in the same answer
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

    window.addEventListener("pagehide", function () {
      // Best effort: the time-out is what makes presence right when this never arrives.
      if (navigator.sendBeacon) navigator.sendBeacon(syncUrl, heartbeatBody("gone"));
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

    let shown = new Map();
    part("rows", seconds(data.pollInterval, 15), function (params) {
      shown = rows();
      const orders = Array.from(shown.keys(), function (id) { return id + "." + (tokens.get(id) || ""); });
      params.set("orders", orders.join(","));
      // The list's filters and search: with the queue counts, the answer counts its results again.
      params.set("list", data.listQuery || "");
    }, function (answer) {
      if (answer.rows) showRows(answer.rows);
      if (answer.result_count) showCount(answer.result_count);
    });

    // The "N results" line above the list and the count below it.
    function showCount(counted) {
      document.querySelectorAll("[data-result-count]").forEach(function (element) {
        const text = counted[element.dataset.resultCount];
        if (typeof text !== "string" || element.textContent === text) return;
        element.textContent = text;
        highlight(element);
      });
    }

    function showRows(moved) {
      moved.forEach(function (row) {
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
        // A row that changed holder or status brings the navigation's queue counts in the same answer.
        if (!first && before !== after) highlight(tr);
        tokens.set(id, row.token);
      });
      first = false;
    }
  }

  // --- the header's bell --------------------------------------------------------------------------------

  function bell() {
    const element = document.getElementById("notification-bell");
    if (!element) return;
    const badge = element.querySelector(".notification-count");
    function show(count) {
      badge.textContent = count > 99 ? "99+" : String(count);
      badge.hidden = count === 0;
      element.classList.toggle("has-unread", count > 0);
      const label = count > 0 ? element.dataset.labelSome.replace("%(count)s", String(count)) : element.dataset.labelNone;
      element.setAttribute("aria-label", label);
      element.title = label;
      element.dataset.unread = String(count);
    }
    // The count only ever comes from the server; an answer that brings it unasked (a take-over's notice on
    // the open page) is shown as well.
    part("bell", seconds(syncConfig.dataset.bellInterval, 15), function (params) {
      params.set("bell", "1");
    }, function (answer) {
      if (typeof answer.unread === "number") show(answer.unread);
    });
  }

  // --- the navigation's queue counts --------------------------------------------------------------------

  // The navigation's, and on the order list the phone's queue bar above it.
  function queues() {
    if (!document.querySelector("[data-queue-counts]")) return;
    part("queues", seconds(syncConfig.dataset.queuesInterval, 30), function (params) {
      params.set("queues", "1");
    }, function (answer) {
      if (!answer.queues) return;
      Object.entries(answer.queues).forEach(function ([key, value]) {
        document.querySelectorAll('[data-queue-counts] [data-queue-count="' + key + '"]').forEach(function (cell) {
          const shown = value.count.toLocaleString();
          cell.textContent = value.estimated ? "~" + shown : shown;
        });
      });
    });
  }

  if (data.mode === "order") orderPage();
  else if (data.mode === "list") orderList();
  bell();
  queues();

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      tick(true);
      start();
    } else {
      stop();
    }
  });
  // Back from the browser's cache (after a "gone"): everything at once.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) tick(true);
  });
  // The first tick fills the bell, the counts, the list's eye icons and rows' tokens, and sends the first
  // heartbeat.
  if (document.visibilityState === "visible") {
    tick(true);
    start();
  }
})();
