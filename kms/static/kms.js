// kms: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // "/" focuses the search box from anywhere, unless the user is typing in a field.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    var box = document.getElementById("site-search");
    if (box) { event.preventDefault(); box.focus(); box.select(); }
  });

  // A form sent back with a refused field: take the user (and a screen reader) to the first one, even when the
  // form sits low on a long page, unless the page has already put the focus somewhere.
  var refused = document.querySelector("[aria-invalid='true']");
  if (refused && (document.activeElement === document.body || !document.activeElement)) {
    refused.focus();
  }

  // Copy buttons: <button data-copy="#selector">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var field = document.querySelector(button.getAttribute("data-copy"));
    if (!field) return;
    field.select();
    var done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard) { navigator.clipboard.writeText(field.value).then(done, function () {}); }
    else { document.execCommand("copy"); done(); }
  });

  // Buttons that ask first: <button data-confirm="Really?">.
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) event.preventDefault();
  });

  // The Markdown editor (kms-editor.js) keeps a local draft and notes the form it sent. A page without that
  // editor after the send means the save went through (the site redirected): the draft is no longer needed.
  try {
    var sent = window.sessionStorage.getItem("kms-draft-sent");
    var stillEditing = Array.prototype.some.call(document.querySelectorAll("textarea[data-draft-key]"),
      function (area) { return "kms-draft:" + area.dataset.draftKey === sent; });
    if (sent && !stillEditing) {
      window.localStorage.removeItem(sent);
      window.sessionStorage.removeItem("kms-draft-sent");
    }
  } catch (e) { /* storage switched off: there is no draft to clear */ }

  // Live Markdown preview: <textarea data-preview-url=".." data-preview-target="#id">.
  document.querySelectorAll("textarea[data-preview-url]").forEach(function (area) {
    var target = document.querySelector(area.dataset.previewTarget);
    var token = document.querySelector("input[name=csrf_token]");
    if (!target) return;
    var timer = null;
    var refresh = function () {
      var body = new FormData();
      body.append("body", area.value);
      if (token) body.append("csrf_token", token.value);
      fetch(area.dataset.previewUrl, { method: "POST", body: body, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data) target.innerHTML = data.html; })
        .catch(function () {});
    };
    area.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 350); });
  });

  // Scorecard drafts save themselves: <form data-autosave="url"> posts its fields a moment after each change.
  // The "Save draft" button does the same without JavaScript.
  document.querySelectorAll("form[data-autosave]").forEach(function (form) {
    var status = form.querySelector("[data-autosave-status]");
    var timer = null;
    var show = function (text) { if (status) status.textContent = text; };
    var save = function () {
      var body = new FormData(form);
      body.delete("action");
      fetch(form.dataset.autosave, { method: "POST", body: body, credentials: "same-origin",
                                     headers: { "Accept": "application/json" } })
        .then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); })
        .then(function (res) {
          if (res.ok) show("Draft saved " + new Date(res.data.saved_at).toLocaleTimeString());
          else show("Not saved: " + (res.data.error || "try Save draft"));
        })
        .catch(function () { show("Not saved (offline?). Use Save draft."); });
    };
    var later = function () { clearTimeout(timer); show("Unsaved changes…"); timer = setTimeout(save, 1500); };
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    form.addEventListener("submit", function () { clearTimeout(timer); });
  });

  // Title suggestions under the search box: the endpoint returns [{title, url}].
  var box = document.getElementById("site-search");
  if (box && box.dataset.suggest) {
    var list = document.createElement("ul");
    list.className = "suggestions";
    list.hidden = true;
    list.setAttribute("role", "listbox");
    box.parentNode.appendChild(list);
    var pending = null;
    box.addEventListener("input", function () {
      clearTimeout(pending);
      var q = box.value.trim();
      if (q.length < 2) { list.hidden = true; return; }
      pending = setTimeout(function () {
        fetch(box.dataset.suggest + "?q=" + encodeURIComponent(q), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (items) {
            list.textContent = "";
            (items.suggestions || items).forEach(function (item) {
              var li = document.createElement("li");
              var a = document.createElement("a");
              a.href = item.url; a.textContent = item.title;
              li.appendChild(a); list.appendChild(li);
            });
            list.hidden = list.children.length === 0;
          }).catch(function () {});
      }, 180);
    });
    box.addEventListener("blur", function () { setTimeout(function () { list.hidden = true; }, 200); });
  }

  // A table or code block wider than the screen (a phone) scrolls in its own box: make that box reachable
  // with the keyboard (TAB to it, then the arrow keys scroll), and name it after its table's caption.
  var markScrollable = function () {
    document.querySelectorAll(".table-wrap, pre").forEach(function (el) {
      var scrolls = el.scrollWidth > el.clientWidth + 1;
      if (scrolls && !el.hasAttribute("tabindex")) {
        var caption = el.querySelector("caption");
        el.setAttribute("tabindex", "0");
        el.setAttribute("role", "region");
        el.setAttribute("aria-label", caption ? caption.textContent.trim() : (el.tagName === "PRE" ? "Code" : "Table"));
        el.dataset.scrollBox = "1";
      } else if (!scrolls && el.dataset.scrollBox) {
        ["tabindex", "role", "aria-label", "data-scroll-box"].forEach(function (name) { el.removeAttribute(name); });
      }
    });
  };
  markScrollable();
  var resizing = null;
  window.addEventListener("resize", function () { clearTimeout(resizing); resizing = setTimeout(markScrollable, 150); });
})();
