// Ladder console: truthful clocks. Countdowns of counting clocks tick down every second
// until their calendar closes (data-until); then they say the business day is over until
// the page is loaded again. Every <time datetime> is shown in the user's time zone: the one
// of their profile (data-time-zone on <body>), else the browser's. Without this file the
// page shows the same figures as of loading it, and instants in UTC.
(function () {
  "use strict";

  function left(seconds) {
    var s = Math.abs(seconds), d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    var t = d > 0 ? d + "d " + h + "h" : h > 0 ? h + "h " + String(m).padStart(2, "0") + "m" : m > 0 ? m + "m" : s + "s";
    return seconds < 0 ? t + " overdue" : t + " left";
  }

  var zone = document.body.dataset.timeZone || undefined;
  var format;
  try {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short"
    });
  } catch (e) {
    format = null;
  }

  function localise(root) {
    if (!format) { return; }
    Array.prototype.forEach.call(root.querySelectorAll("time[datetime]"), function (el) {
      if (el.dataset.localised) { return; }
      var at = new Date(el.getAttribute("datetime"));
      if (isNaN(at.getTime())) { return; }
      var p = {};
      format.formatToParts(at).forEach(function (part) { p[part.type] = part.value; });
      el.title = el.title || el.textContent;
      el.textContent = p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute + " " + (p.timeZoneName || "");
      el.dataset.localised = "1";
    });
  }

  var started = Date.now();
  function tick() {
    var now = Date.now(), gone = Math.floor((now - started) / 1000);
    Array.prototype.forEach.call(document.querySelectorAll(".countdown[data-remaining]"), function (el) {
      if (el.dataset.start === undefined) { el.dataset.start = el.dataset.remaining; el.dataset.since = String(gone); }
      var until = el.dataset.until ? Date.parse(el.dataset.until) : NaN;
      var stop = isNaN(until) ? Infinity : Math.floor((until - started) / 1000);
      var counted = Math.min(gone, stop) - parseInt(el.dataset.since, 10);
      var remaining = parseInt(el.dataset.start, 10) - counted;
      el.textContent = left(remaining) + (gone >= stop ? " · paused (business hours over)" : "");
      if (gone >= stop) { el.classList.add("out-of-hours"); }
      if (remaining < 0) { el.classList.add("breached"); }
    });
  }

  localise(document);
  tick();
  setInterval(tick, 1000);
  // Parts of a page replaced live (assets/live.js) are localised when they arrive.
  document.addEventListener("ladder:updated", function (e) { localise(e.target); });
})();
