// Small enhancements; every page works without them.
(function () {
  "use strict";

  // Close an open three-dots menu when clicking elsewhere or pressing Escape.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.app-menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.app-menu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary) summary.focus();
    });
  });

  // "Kopier til utklippstavle".
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy-target"));
    if (!source) return;
    var text = source.value !== undefined ? source.value : source.textContent;
    var done = function () {
      var status = document.getElementById(button.getAttribute("data-copy-status"));
      if (status) status.textContent = button.getAttribute("data-copied-text") || "Kopiert";
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { source.select && source.select(); });
    } else if (source.select) {
      source.select();
      document.execCommand("copy");
      done();
    }
  });

  // Conditional items: show an element only while its condition holds. The server validates
  // the same conditions, so this is only a convenience.
  function applyConditions(root) {
    root.querySelectorAll("[data-show-if]").forEach(function (el) {
      var name = el.getAttribute("data-show-if");
      var values = JSON.parse(el.getAttribute("data-show-values") || "[]").map(String);
      var inputs = document.querySelectorAll('[name="' + name + '"]');
      var current = [];
      inputs.forEach(function (input) {
        if (input.type === "radio" || input.type === "checkbox") {
          if (input.checked) current.push(input.type === "checkbox" ? "true" : input.value);
        } else if (input.value !== "") {
          current.push(input.value);
        }
      });
      if (inputs.length && inputs[0].type === "checkbox" && current.length === 0) current.push("false");
      var visible = current.some(function (v) { return values.indexOf(v) !== -1; });
      el.classList.toggle("app-hidden", !visible);
      // An answer that would contradict the condition is cleared when its item is hidden.
      if (!visible && el.hasAttribute("data-clear-when-hidden")) {
        el.querySelectorAll("input[type=radio]").forEach(function (r) { r.checked = r.value === ""; });
      }
    });
  }

  // A group's "none / not relevant" box clears the other boxes, and the other way round.
  document.addEventListener("change", function (event) {
    var input = event.target;
    var group = input.closest("[data-group]");
    if (group && input.type === "checkbox" && input.checked) {
      var exclusive = input.hasAttribute("data-exclusive");
      group.querySelectorAll('input[type="checkbox"]').forEach(function (other) {
        if (other !== input && (exclusive || other.hasAttribute("data-exclusive"))) other.checked = false;
      });
    }
    applyConditions(document);
  });

  // Pain drawing: clicking a body region toggles the matching checkbox.
  document.addEventListener("click", function (event) {
    var region = event.target.closest("[data-region]");
    if (!region) return;
    var box = document.getElementById(region.getAttribute("data-region"));
    if (!box) return;
    box.checked = !box.checked;
    box.dispatchEvent(new Event("change", { bubbles: true }));
    syncRegions();
  });
  // The figure is for pointing; the list of checkboxes under it is the keyboard and
  // screen-reader way (one tab stop per region), so the figure follows the list and vice versa.
  function syncRegions() {
    document.querySelectorAll("[data-region]").forEach(function (region) {
      var box = document.getElementById(region.getAttribute("data-region"));
      if (!box) return;
      region.classList.toggle("is-selected", box.checked);
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.type === "checkbox") syncRegions();
  });

  document.addEventListener("DOMContentLoaded", function () {
    applyConditions(document);
    syncRegions();
    document.querySelectorAll("[data-js-only]").forEach(function (el) { el.classList.remove("app-hidden"); });
  });
  document.addEventListener("htmx:afterSwap", function (event) { applyConditions(event.target); syncRegions(); });
})();

// Diagnosis picker: a result button fills the code field of its item.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-set-diagnosis]");
    if (!button) return;
    var target = button.getAttribute("data-set-diagnosis");
    var input = document.getElementById("input-" + target);
    var type = document.getElementById("type-" + target);
    var name = document.getElementById("item-" + target + "-name");
    // The group the code was picked under is stored as DiagnosticNumberNType.
    if (type) {
      var group = button.getAttribute("data-group") || "";
      if (group && type.tagName === "SELECT" &&
          !Array.prototype.some.call(type.options, function (o) { return o.value === group; })) {
        type.add(new Option(group, group));
      }
      type.value = group;
    }
    if (name) name.textContent = button.getAttribute("data-name");
    if (input) {
      input.value = button.getAttribute("data-code");
      input.focus();
      // The server checks the code at once: name, group, and the neck/back warning.
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });
  // A code typed by hand was not picked under a group.
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.id || input.id.indexOf("input-DiagnosticNumber") !== 0) return;
    var type = document.getElementById("type-" + input.id.slice(6));
    if (type) type.value = "";
  });
})();

// Move focus to an error summary so keyboard and screen-reader users land on it.
document.addEventListener("DOMContentLoaded", function () {
  var target = document.querySelector("[data-focus-on-load]");
  if (target) target.focus();
});

// "Send inn" only once: a second click does nothing while the first is on its way.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!form.hasAttribute("data-submit-once")) return;
  if (form.dataset.submitted) { event.preventDefault(); return; }
  form.dataset.submitted = "1";
});

// A table wider than the screen scrolls sideways in its box. Keyboard users must be able to
// focus that box to scroll it (WCAG 2.1.1), so a box that scrolls gets a tab stop and a name
// (the table's caption or the heading before it).
(function () {
  "use strict";
  function labelFor(box) {
    var caption = box.querySelector("caption");
    if (caption && caption.textContent.trim()) return caption.textContent.trim();
    for (var el = box.previousElementSibling; el; el = el.previousElementSibling) {
      if (/^H[1-6]$/.test(el.tagName)) return el.textContent.trim();
    }
    return document.title;
  }
  function update() {
    document.querySelectorAll(".app-table-wrap").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        if (!box.hasAttribute("aria-label")) box.setAttribute("aria-label", labelFor(box));
      } else if (box.getAttribute("role") === "region") {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
  }
  document.addEventListener("DOMContentLoaded", update);
  window.addEventListener("resize", update);
  document.addEventListener("htmx:afterSwap", update);
})();

// «Ferdigstill likevel» confirms the answers the warning was shown for. Once an answer on the
// page changes (Diagnose 1 corrected), the confirmation is withdrawn: the button goes, and
// «Ferdigstill» completes what is on screen. The server refuses a stale confirmation anyway.
(function () {
  "use strict";
  function withdraw(event) {
    var field = event.target;
    if (!field.form || field.type === "search" || !field.name) return;
    document.querySelectorAll("[data-withdraw-on-change]").forEach(function (box) {
      var button = box.querySelector("[data-confirm-button]");
      if (!button || button.form !== field.form) return;
      box.querySelectorAll("[data-confirm-button], input[name=warned]").forEach(function (el) { el.remove(); });
      box.querySelectorAll("[data-confirm-ask]").forEach(function (el) { el.classList.add("app-hidden"); });
      box.querySelectorAll("[data-confirm-withdrawn]").forEach(function (el) { el.classList.remove("app-hidden"); });
    });
  }
  document.addEventListener("input", withdraw);
  document.addEventListener("change", withdraw);
})();

// No answer is lost by leaving a form. A form with data-autosave is saved as the user types
// (htmx posts it a moment after the last change; the server answers "Lagret kl. 10:42" and the
// draft's new version). A link clicked before that save has happened saves first and then
// follows the link. Any other way of leaving a form with data-warn-unsaved while something is not
// saved (the address bar, closing the tab, a link on the paper-entry page) asks first.
(function () {
  "use strict";
  var state = new WeakMap();
  function info(form) {
    if (!state.has(form)) state.set(form, { changes: 0, saved: 0, sent: 0, inFlight: false, lastOk: true, submitting: false, waiters: [] });
    return state.get(form);
  }
  function isAnswer(field) {
    return field && field.form && field.name && field.type !== "search" && field.name !== "q";
  }
  function dirtyForms() {
    return Array.prototype.filter.call(document.querySelectorAll("form[data-warn-unsaved]"), function (form) {
      var s = info(form);
      return !s.submitting && s.changes > s.saved;
    });
  }
  function settle(form) {
    var s = info(form);
    var waiters = s.waiters;
    s.waiters = [];
    waiters.forEach(function (done) { done(); });
  }
  // Save what is typed now; done(true) once everything typed so far is saved, done(false) when
  // a save failed (someone else saved, the server is away).
  function flush(form, done) {
    var s = info(form);
    if (s.changes <= s.saved) { done(true); return; }
    s.waiters.push(function () {
      if (s.changes <= s.saved) done(true);
      else if (s.lastOk && !s.inFlight) flush(form, done); // the save on its way held less
      else done(false);
    });
    if (!s.inFlight) window.htmx.trigger(form, "nnrr:save-now");
  }

  function changed(event) {
    if (!isAnswer(event.target) || !event.target.form.hasAttribute("data-warn-unsaved")) return;
    info(event.target.form).changes += 1;
  }
  document.addEventListener("input", changed);
  document.addEventListener("change", changed);

  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt;
    if (!form.hasAttribute || !form.hasAttribute("data-autosave")) return;
    var s = info(form);
    if (s.submitting) { event.preventDefault(); return; }
    s.inFlight = true;
    s.sent = s.changes;
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (!form.hasAttribute || !form.hasAttribute("data-autosave")) return;
    var s = info(form);
    s.inFlight = false;
    var xhr = event.detail.xhr;
    s.lastOk = !!(xhr && xhr.status === 200 && xhr.getResponseHeader("X-NNRR-Autosave") === "saved");
    if (s.lastOk) s.saved = Math.max(s.saved, s.sent);
    settle(form);
  });

  // A link away from the page waits for the save of what was typed.
  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    var link = event.target.closest("a[href]");
    if (!link || link.target || link.hasAttribute("download")) return;
    var url = new URL(link.href, window.location.href);
    if (url.origin !== window.location.origin) return;
    if (url.pathname === window.location.pathname && url.search === window.location.search && url.hash) return;
    var forms = dirtyForms().filter(function (form) { return form.hasAttribute("data-autosave") && window.htmx; });
    if (!forms.length) return;
    event.preventDefault();
    var left = forms.length;
    var allSaved = true;
    forms.forEach(function (form) {
      flush(form, function (saved) {
        allSaved = allSaved && saved;
        left -= 1;
        // Not saved (someone else saved, or the server is away): stay; the status says why.
        if (left === 0 && allSaved) window.location.assign(link.href);
      });
    });
  }, true);

  // The form's own buttons leave on purpose; a save on its way finishes first, so the version
  // the form posts is the draft's latest.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-warn-unsaved")) return;
    var s = info(form);
    if (form.hasAttribute("data-autosave") && s.inFlight) {
      event.preventDefault();
      var submitter = event.submitter;
      s.waiters.push(function () { form.requestSubmit(submitter); });
      return;
    }
    s.submitting = true;
  });
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-warn-unsaved]").forEach(function (form) { info(form).submitting = false; });
  });

  window.addEventListener("beforeunload", function (event) {
    if (!dirtyForms().length) return;
    event.preventDefault();
    event.returnValue = "";
  });
})();
