// Ladder console: the live board. The page lists what needs attention when it loads; this
// script keeps it current from /board/stream (Server-Sent Events), inserting the rows the
// server renders. Without JavaScript the page is the same list, as of loading it.
(function () {
  "use strict";
  var rows = document.querySelector("[data-live-board]");
  if (!rows || !window.EventSource) { return; }
  var status = document.getElementById("board-live");
  var count = document.getElementById("board-count");
  var empty = document.getElementById("board-empty");

  function refresh() {
    var n = rows.querySelectorAll("tr").length;
    if (count) { count.textContent = String(n); }
    if (empty) { empty.hidden = n > 0; }
  }

  var source = new EventSource(rows.dataset.liveBoard);
  source.addEventListener("open", function () {
    if (status) { status.textContent = "Live: new escalations, clocks at risk and approvals appear as they happen."; }
    rows.dataset.live = "open";
  });
  source.addEventListener("error", function () {
    if (status) { status.textContent = "Reconnecting to the live board…"; }
    rows.dataset.live = "reconnecting";
  });
  source.addEventListener("case", function (e) {
    var change = JSON.parse(e.data);
    var old = document.getElementById("board-" + change.number);
    if (old) { old.parentNode.removeChild(old); }
    if (change.html) {
      var holder = document.createElement("tbody");
      holder.innerHTML = change.html;
      var row = holder.firstElementChild;
      row.classList.add("arrived");
      rows.insertBefore(row, rows.firstChild);
    }
    refresh();
  });
})();
