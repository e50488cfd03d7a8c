// Ladder console: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // Countdowns of clocks that count every hour tick down between page loads.
  function text(seconds) {
    var s = Math.abs(seconds), d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    var t = d > 0 ? d + "d " + h + "h" : h > 0 ? h + "h " + String(m).padStart(2, "0") + "m" : m > 0 ? m + "m" : s + "s";
    return seconds < 0 ? t + " overdue" : t + " left";
  }
  var clocks = Array.prototype.slice.call(document.querySelectorAll(".countdown[data-remaining]"));
  var started = Date.now();
  if (clocks.length) {
    clocks.forEach(function (el) { el.dataset.start = el.dataset.remaining; });
    setInterval(function () {
      var gone = Math.floor((Date.now() - started) / 1000);
      clocks.forEach(function (el) {
        var left = parseInt(el.dataset.start, 10) - gone;
        el.textContent = text(left);
        if (left < 0) { el.classList.add("breached"); }
      });
    }, 1000);
  }

  // A form is sent once: the button is disabled while the page posts.
  document.addEventListener("submit", function (e) {
    var button = e.target.querySelector("button[type=submit]");
    if (button) { setTimeout(function () { button.disabled = true; }, 0); }
  });

  // Keyboard: "g q" goes to the queue; "/" focuses the first text box of the page's forms.
  var last = "";
  document.addEventListener("keydown", function (e) {
    var tag = (e.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || e.ctrlKey || e.metaKey || e.altKey) { return; }
    if (last === "g" && e.key === "q") { window.location.href = "/queue"; }
    if (e.key === "/") {
      var field = document.querySelector("main textarea, main input[type=text]");
      if (field) {
        var details = field.closest("details");
        if (details) { details.open = true; }
        e.preventDefault();
        field.focus();
      }
    }
    last = e.key;
  });
})();
