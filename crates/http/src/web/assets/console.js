// Ladder console: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // Countdowns and times: see clocks.js.

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
