// SWS console: the project's own small script. Pages work without it; it adds comfort:
// switchers that submit on change, confirmations, select-all, and live instance states.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function onReady(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }

  function autosubmit() {
    document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }

  function confirmations() {
    document.addEventListener("click", function (event) {
      var button = event.target.closest("[data-confirm]");
      if (button && !window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  }

  function selectAll() {
    document.querySelectorAll("[data-select-all]").forEach(function (box) {
      box.addEventListener("change", function () {
        box.closest("table").querySelectorAll("input[name=ids]").forEach(function (item) {
          item.checked = box.checked;
        });
      });
    });
  }

  // Instance actions that cannot apply to the selection are disabled: nothing selected, more
  // than one for Connect and System Log, or a power state that rules the action out. Without
  // JavaScript every button stays enabled and the server answers why an action cannot run.
  function selectionActions() {
    document.querySelectorAll("form[data-selection]").forEach(function (form) {
      function refresh() {
        var chosen = Array.prototype.filter.call(form.querySelectorAll("input[name=ids]"),
          function (box) { return box.checked; });
        form.querySelectorAll("button[data-needs]").forEach(function (button) {
          var need = button.getAttribute("data-needs");
          var power = button.getAttribute("data-power");
          var fits = need === "one" ? chosen.length === 1 : chosen.length > 0;
          if (fits && power) {
            fits = chosen.every(function (box) { return box.getAttribute("data-power") === power; });
          }
          button.disabled = !fits;
        });
      }
      form.addEventListener("change", refresh);
      refresh();
    });
  }

  // The phone layout's menu button: it shows or hides the menu and says which it did.
  function menuToggle() {
    var button = document.getElementById("menu-toggle");
    if (!button) { return; }
    button.addEventListener("click", function () {
      var open = document.body.classList.toggle("menu-open");
      button.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  // A table that scrolls inside itself (the phone layout) can be scrolled with the keyboard.
  function scrollableTables() {
    document.querySelectorAll("table.list").forEach(function (table) {
      if (table.scrollWidth > table.clientWidth && !table.hasAttribute("tabindex")) {
        table.setAttribute("tabindex", "0");
      }
    });
  }

  function setField(holder, name, value) {
    var cell = holder.querySelector("[data-field=" + name + "]");
    if (cell) { cell.textContent = value; }
  }

  // A status that changes on its own is announced to screen readers (aria-live, base.html).
  function announce(holder, status) {
    var live = document.getElementById("live-status");
    var name = holder.querySelector("a");
    if (live && name) { live.textContent = name.textContent + ": " + status; }
  }

  function setStatus(holder, row) {
    var badge = holder.querySelector("[data-field=status] .status");
    var before = (badge || holder.querySelector("[data-field=status]") || {}).textContent;
    if (before !== undefined && before.trim() !== row.status) { announce(holder, row.status); }
    if (!badge) { setField(holder, "status", row.status); return; }
    badge.textContent = row.status;
    badge.className = "status s-" + row.code;
  }

  function apply(row) {
    var holder = document.querySelector("[data-id='" + row.id + "']");
    if (!holder) { return; }
    if (row.gone) { holder.removeAttribute("data-moving"); holder.classList.add("gone"); return; }
    setStatus(holder, row);
    setField(holder, "task", row.task);
    setField(holder, "power", row.power);
    setField(holder, "fixed", row.fixed);
    setField(holder, "floating", row.floating);
    var box = holder.querySelector("input[name=ids][data-power]");
    if (box && row.power_state) {
      box.setAttribute("data-power", row.power_state);
      box.dispatchEvent(new Event("change", { bubbles: true }));  // actions follow the new state
    }
    if (!row.moving) { holder.removeAttribute("data-moving"); }
  }

  function poll() {
    var moving = document.querySelectorAll("[data-id][data-moving]");
    if (moving.length === 0) { return; }
    var query = Array.prototype.map.call(moving, function (el) {
      return "id=" + encodeURIComponent(el.getAttribute("data-id"));
    }).join("&");
    fetch("/console/instances/states?" + query, { headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok || response.headers.get("content-type").indexOf("json") < 0) {
          throw new Error("not a state answer");
        }
        return response.json();
      })
      .then(function (body) { body.servers.forEach(apply); window.setTimeout(poll, 2000); })
      .catch(function () { /* logged out or offline: stop polling */ });
  }

  onReady(function () {
    autosubmit();
    confirmations();
    selectAll();
    selectionActions();
    menuToggle();
    scrollableTables();
    window.setTimeout(poll, 1500);
  });
})();

// Issue 18 polish (monitoring, key pairs, flashes): chart axis labels stay about 12 px
// whatever the chart's width, a flash follows the section the page jumps to, and the
// generated private key can be copied. Each part does nothing on a page without its elements.
(function () {
  "use strict";

  function sizeCharts() {
    var charts = Array.prototype.slice.call(document.querySelectorAll("figure.chart svg.chart-svg"));
    if (!charts.length) { return; }
    function fit() {
      charts.forEach(function (svg) {
        var width = svg.getBoundingClientRect().width;
        var box = svg.viewBox && svg.viewBox.baseVal;
        if (!width || !box || !box.width) { return; }
        svg.style.setProperty("--chart-k", (box.width / width).toFixed(3));
        svg.classList.toggle("narrow", width < 520);
      });
    }
    fit();
    if (window.ResizeObserver) {
      var observer = new ResizeObserver(fit);
      charts.forEach(function (svg) { observer.observe(svg); });
    } else {
      window.addEventListener("resize", fit);
    }
  }

  // After "Alarm created" the page jumps to #alarms: the message goes there too, not above
  // the fold the page has scrolled past.
  function flashesWhereTheEyeIs() {
    var flashes = document.querySelectorAll("main > .flash");
    var id = window.location.hash.slice(1);
    var target = id ? document.getElementById(decodeURIComponent(id)) : null;
    if (!flashes.length || !target) { return; }
    var spot = target.querySelector("[data-flash-spot]");
    if (!spot) {
      spot = document.createElement("div");
      spot.className = "flash-spot";
      var heading = target.querySelector("h2, summary");
      if (heading && heading.parentNode === target) { heading.after(spot); } else { target.prepend(spot); }
    }
    flashes.forEach(function (flash) { spot.appendChild(flash); });
    if (target.tagName === "DETAILS") { target.open = true; }
    target.scrollIntoView({ block: "start" });
  }

  function keyCopy() {
    var say = function (text) {
      var out = document.getElementById("key-saved");
      if (out && text) { out.textContent = text; }
    };
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source || !navigator.clipboard) { return; }  // http: select the text instead
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(source.textContent).then(function () {
          say(button.getAttribute("data-copied"));
        });
      });
    });
    var link = document.getElementById("download-key");
    if (link) { link.addEventListener("click", function () { say(link.getAttribute("data-downloaded")); }); }
  }

  function ready() { sizeCharts(); flashesWhereTheEyeIs(); keyCopy(); }
  if (document.readyState !== "loading") { ready(); } else { document.addEventListener("DOMContentLoaded", ready); }
})();
