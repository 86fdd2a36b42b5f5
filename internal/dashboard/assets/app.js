// cardd dashboard: live updates and actions without reloading. The pages
// work without this script (plain forms and a reload); with it, the
// server's event stream (/ui/events) says when the station changed and the
// page's <main> is fetched again. Without EventSource, or while the stream
// is down, the page polls every second.
(function () {
  "use strict";
  var main = document.getElementById("main");
  var live = document.getElementById("live");
  var updated = document.getElementById("updated");
  var flash = document.getElementById("flash");
  var token = document.querySelector('meta[name="csrf-token"]').content;
  var pending = false, again = false, pollTimer = null;

  function setLive(state, text) {
    live.className = "live " + state;
    live.lastChild.textContent = text;
  }

  // busy reports whether the operator is typing in the page; a refresh
  // then waits, so a reason being typed is not lost.
  function busy() {
    var a = document.activeElement;
    if (a && main.contains(a) && a.tagName === "INPUT") return true;
    var inputs = main.querySelectorAll("input[name=reason]");
    for (var i = 0; i < inputs.length; i++) if (inputs[i].value) return true;
    return false;
  }

  function refresh() {
    if (pending || busy()) { again = true; return; }
    pending = true;
    var u = new URL(location.href);
    u.searchParams.delete("msg"); u.searchParams.delete("err");
    u.searchParams.set("part", "main");
    fetch(u, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      return r.ok ? r.text() : Promise.reject(r.status);
    }).then(function (html) {
      // An operator's open "details" stay open across the update.
      var open = {};
      main.querySelectorAll("details[data-key][open]").forEach(function (d) { open[d.dataset.key] = true; });
      main.innerHTML = html;
      main.querySelectorAll("details[data-key]").forEach(function (d) { if (open[d.dataset.key]) d.open = true; });
      updated.textContent = new Date().toLocaleTimeString();
    }).catch(function () {}).finally(function () {
      pending = false;
      if (again) { again = false; setTimeout(refresh, 300); }
    });
  }

  document.addEventListener("focusout", function () { if (again) setTimeout(refresh, 200); });

  function poll() {
    if (pollTimer) return;
    setLive("off", "polling");
    pollTimer = setInterval(refresh, 1000);
  }

  if (window.EventSource) {
    var es = new EventSource("/ui/events");
    var first = true;
    var held = document.getElementById("held");
    es.addEventListener("status", function (ev) {
      setLive("on", "live");
      try {
        var n = (JSON.parse(ev.data).status.queue || {}).held || 0;
        held.textContent = n + " held";
        held.hidden = n === 0;
      } catch (e) { /* a malformed event only skips the badge */ }
      if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
      if (first) { first = false; return; }
      refresh();
    });
    es.onerror = function () { poll(); };
  } else {
    poll();
  }

  function show(ok, text) {
    flash.innerHTML = "";
    var p = document.createElement("p");
    p.className = "flash " + (ok ? "ok" : "err");
    p.textContent = text;
    flash.appendChild(p);
  }

  // Forms post with fetch and the CSRF header; the page refreshes after.
  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    if (!f.classList.contains("act")) return;
    ev.preventDefault();
    var buttons = f.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    fetch(f.action, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": token },
      body: new URLSearchParams(new FormData(f))
    }).then(function (r) {
      return r.json().catch(function () { return { ok: false, message: "HTTP " + r.status }; });
    }).then(function (res) {
      show(res.ok, res.message);
      var inp = f.querySelector("input[name=reason]");
      if (inp && res.ok) inp.value = "";
    }).catch(function (e) { show(false, String(e)); })
      .finally(function () {
        buttons.forEach(function (b) { b.disabled = false; });
        if (document.activeElement) document.activeElement.blur();
        refresh();
      });
  });
})();
