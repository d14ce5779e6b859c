// Progressive enhancement only: every page works without this file.
// - autocomplete: fills the search box's <datalist> from /search/suggest;
// - an order waiting for its payment: polls its status and reloads when it changes;
// - a select marked data-autosubmit submits its form when changed;
// - a replay's page (console): polls its progress and updates the bar until it ends.
(function () {
  "use strict";

  function autocomplete(input) {
    var list = document.getElementById(input.getAttribute("list"));
    var timer = null, last = "";
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var q = input.value.trim();
        if (q.length < 2 || q === last) { return; }
        last = q;
        fetch(input.dataset.suggest + "?q=" + encodeURIComponent(q), {credentials: "same-origin"})
          .then(function (r) { return r.ok ? r.json() : {suggestions: []}; })
          .then(function (data) {
            list.textContent = "";
            (data.suggestions || []).forEach(function (name) {
              var option = document.createElement("option");
              option.value = name;
              list.appendChild(option);
            });
          })
          .catch(function () {});
      }, 150);
    });
  }

  function pollOrder(element) {
    var url = element.dataset.poll, status = element.dataset.status;
    function check() {
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (data && data.status && data.status !== status) { window.location.reload(); return; }
          setTimeout(check, 1000);
        })
        .catch(function () { setTimeout(check, 2000); });
    }
    setTimeout(check, 1000);
  }

  function followReplay(panel) {
    function show(name, text) {
      var element = panel.querySelector('[data-field="' + name + '"]');
      if (element) { element.textContent = text; }
    }
    function check() {
      fetch(panel.dataset.replay, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (replay) {
          if (!replay) { setTimeout(check, 2000); return; }
          var bar = panel.querySelector('[data-field="bar"]');
          if (replay.total) { bar.max = replay.total; bar.value = replay.done; }
          show("state", replay.state);
          show("done", replay.done.toLocaleString());
          show("total", replay.total === null ? "?" : replay.total.toLocaleString());
          show("rate", replay.events_per_s ? Math.round(replay.events_per_s).toLocaleString() : "–");
          if (replay.error) {
            var error = panel.querySelector('[data-field="error"]');
            error.textContent = replay.error;
            error.hidden = false;
          }
          panel.dataset.state = replay.state;
          if (replay.state === "requested" || replay.state === "running") { setTimeout(check, 500); }
        })
        .catch(function () { setTimeout(check, 2000); });
    }
    if (panel.dataset.state === "requested" || panel.dataset.state === "running") { setTimeout(check, 300); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-replay]").forEach(followReplay);
    document.querySelectorAll("input[data-suggest]").forEach(autocomplete);
    document.querySelectorAll("[data-poll]").forEach(pollOrder);
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.requestSubmit(); });
    });
  });
})();
