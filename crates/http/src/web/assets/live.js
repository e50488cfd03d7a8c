// Ladder console: live agent pages. On the case page and the queue, changes to the cases
// shown arrive from /live/stream (Server-Sent Events). When one concerns the page, the page
// is loaded again in the background and the parts marked data-live-region are swapped in
// (forms are never replaced, so nothing typed is lost); a marker says what changed and
// when. Without JavaScript the pages are as of loading them.
(function () {
  "use strict";
  var head = document.querySelector("[data-live-case]");
  var queue = document.querySelector("[data-live-queue]");
  if ((!head && !queue) || !window.EventSource || !window.fetch || !window.DOMParser) { return; }
  var marker = document.getElementById("live-updated");

  function marks(el) {
    try { return JSON.parse(el.dataset.liveMarks || "{}"); } catch (e) { return {}; }
  }

  // What changed between two sets of marks, in words.
  function changes(before, after) {
    var said = [];
    if (after.messages > before.messages) { said.push(after.messages - before.messages === 1 ? "new message" : "new messages"); }
    if (after.assignee !== before.assignee || after.team !== before.team) { said.push("reassigned"); }
    if (after.decided_approvals > before.decided_approvals) { said.push("approval decided"); }
    if (after.pending_approvals > before.pending_approvals) { said.push("approval requested"); }
    if (after.level !== before.level) { said.push("now at " + after.level); }
    if (after.status !== before.status) { said.push("status " + after.status.replace(/_/g, " ")); }
    if (after.sla !== before.sla) { said.push("SLA " + (after.sla ? after.sla.replace(/_/g, " ") : "clocks stopped")); }
    return said.length ? said : ["updated"];
  }

  function announce(what) {
    if (!marker) { return; }
    var at;
    try {
      at = new Date().toLocaleTimeString("en-GB", { timeZone: document.body.dataset.timeZone || undefined, hourCycle: "h23" });
    } catch (e) {
      at = new Date().toLocaleTimeString("en-GB");
    }
    marker.textContent = "Updated " + at + " — " + what.join(", ") + ".";
    marker.hidden = false;
    marker.classList.remove("flash-in");
    void marker.offsetWidth;
    marker.classList.add("flash-in");
  }

  // Loads this page again and swaps its live regions; `mark(old, fresh)` may mark what is new.
  var loading = null, again = false;
  function reload(done) {
    if (loading) { again = true; return; }
    loading = fetch(window.location.pathname + window.location.search, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        Array.prototype.forEach.call(document.querySelectorAll("[data-live-region]"), function (old) {
          var next = old.id && fresh.getElementById(old.id);
          if (!next) { return; }
          var seen = {};
          Array.prototype.forEach.call(old.querySelectorAll("[data-case]"), function (row) { seen[row.dataset.case] = row.dataset.version; });
          var oldCount = old.children.length;
          old.innerHTML = next.innerHTML;
          Array.prototype.forEach.call(old.querySelectorAll("[data-case]"), function (row) {
            if (seen[row.dataset.case] !== row.dataset.version) {
              row.classList.add("updated");
              var cell = row.querySelector("td.subject");
              if (cell) { var tag = document.createElement("span"); tag.className = "badge updated-tag"; tag.textContent = "updated"; cell.appendChild(document.createTextNode(" ")); cell.appendChild(tag); }
            }
          });
          if (old.id === "timeline") {
            for (var i = oldCount; i < old.children.length; i++) { old.children[i].classList.add("arrived"); }
          }
          old.dispatchEvent(new CustomEvent("ladder:updated", { bubbles: true }));
        });
        var freshHead = fresh.querySelector("[data-live-case]");
        if (head && freshHead) { head.dataset.liveMarks = freshHead.dataset.liveMarks; }
        if (done) { done(); }
      })
      .catch(function () { /* the next change tries again */ })
      .then(function () {
        loading = null;
        if (again) { again = false; reload(); }
      });
  }

  var source = new EventSource("/live/stream");
  source.addEventListener("open", function () { document.body.dataset.live = "open"; });
  source.addEventListener("error", function () { document.body.dataset.live = "reconnecting"; });
  source.addEventListener("case", function (e) {
    var change;
    try { change = JSON.parse(e.data); } catch (err) { return; }
    if (head) {
      if (String(change.number) !== head.dataset.liveCase) { return; }
      var before = marks(head);
      if (change.version <= (before.version || 0)) { return; }
      var what = changes(before, change);
      reload(function () { announce(what); });
    } else if (queue) {
      var row = queue.querySelector("[data-case='" + change.number + "']");
      if (!row && !change.mine) { return; }
      if (row && String(change.version) === row.dataset.version) { return; }
      reload(function () { announce(["#" + change.number + (row ? " changed" : " arrived")]); });
    }
  });
})();
