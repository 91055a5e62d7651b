// Gatekey console: small helpers on top of pages that work without them.
(function () {
  "use strict";

  // Copy buttons: data-copy holds the text.
  document.addEventListener("click", function (e) {
    var b = e.target.closest("button.copy");
    if (!b) return;
    var text = b.getAttribute("data-copy");
    var done = function () {
      var label = b.textContent;
      b.textContent = "Copied";
      b.classList.add("copied");
      setTimeout(function () { b.textContent = label; b.classList.remove("copied"); }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
    } else {
      fallbackCopy(text);
      done();
    }
  });

  function fallbackCopy(text) {
    var t = document.createElement("textarea");
    t.value = text;
    t.setAttribute("readonly", "");
    t.className = "offscreen";
    document.body.appendChild(t);
    t.select();
    try { document.execCommand("copy"); } catch (err) { /* nothing more to try */ }
    document.body.removeChild(t);
  }

  // Forms with data-confirm ask first. A form goes once: a double click
  // would post it twice (two plans, two batches). Coming back to the page
  // (Back) lets it go again.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    var msg = form.getAttribute("data-confirm");
    if (form.getAttribute("data-sent") || (msg && !window.confirm(msg))) {
      e.preventDefault();
      return;
    }
    form.setAttribute("data-sent", "1");
  });
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sent]").forEach(function (f) { f.removeAttribute("data-sent"); });
  });

  // A running rollback: poll its progress, and reload when it is done.
  var box = document.getElementById("rollback");
  if (box && box.getAttribute("data-status") === "running") {
    var bar = document.getElementById("rollback-bar");
    var set = function (id, v) { document.getElementById(id).textContent = v; };
    var poll = function () {
      fetch(box.getAttribute("data-poll"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (p) {
          if (!p) return;
          bar.max = Math.max(p.total, 1);
          bar.value = p.undone;
          set("rb-undone", p.undone + " of " + p.total);
          set("rb-removed", p.removed ? p.removed + " (being told, and out of the plan's chats unless another plan keeps them in)" : "0");
          set("rb-shortened", String(p.shortened));
          if (p.status === "done") { window.location.reload(); return; }
          setTimeout(poll, 700);
        })
        .catch(function () { setTimeout(poll, 2000); });
    };
    setTimeout(poll, 500);
  }
})();
