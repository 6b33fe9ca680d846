// kms: the Markdown editor (EasyMDE, vendored in static/vendor/easymde) on every <textarea data-markdown-editor>.
// Progressive enhancement: without this file (or JavaScript) the plain textarea posts the same Markdown.
// Data attributes on the textarea:
//   data-preview-url     the server's Markdown preview (what the page will show, sanitized server-side)
//   data-preview-target  an element already on the page for the preview; else the editor makes its own panel
//   data-upload-url      POST multipart {file, owner, alt} -> {markdown, ...} or {error}
//   data-upload-owner    what the upload belongs to ("article:12", "lesson:5", "draft"...)
//   data-articles-url    JSON list of articles for the [[article]] picker
//   data-draft-key       the local draft's key: the page and the version the text was based on
(function () {
  "use strict";

  if (typeof window.EasyMDE !== "function") return;

  var DRAFT_PREFIX = "kms-draft:";
  var SENT_FLAG = "kms-draft-sent";
  var IMAGE_TYPES = "image/png,image/jpeg,image/gif,image/webp";
  var FILE_TYPES = IMAGE_TYPES + ",.pdf,.docx,.xlsx,.pptx,.csv,.txt,.zip";
  // Three numbered lines, drawn: a digit as the button's visible text would have to be part of its name.
  function icon(paths) {
    return '<svg class="md-icon" viewBox="0 0 16 16" width="16" height="16" focusable="false">' + paths + "</svg>";
  }
  var LINK_ICON = icon('<path d="M6.5 9.5l3-3M7 4.5l1.2-1.2a2.6 2.6 0 013.7 3.7L10.7 8.2M9 11.5l-1.2 1.2a2.6 2.6 0 ' +
                       '01-3.7-3.7L5.3 7.8" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round"/>');
  var IMAGE_ICON = icon('<rect x="1.5" y="2.5" width="13" height="11" rx="1.5" fill="none" stroke="currentColor" ' +
                        'stroke-width="1.4"/><circle cx="5.5" cy="6" r="1.3"/><path d="M2.5 12.5l4-4 3 3 2-2 2 2v1z"/>');
  var FILE_ICON = icon('<path d="M10.5 4.5l-5 5a1.4 1.4 0 002 2l5.5-5.5a2.8 2.8 0 00-4-4L3.5 7.5a4.2 4.2 0 006 6' +
                       'l4-4" fill="none" stroke="currentColor" stroke-width="1.4" stroke-linecap="round"/>');
  var NOTE_ICON = icon('<circle cx="8" cy="8" r="6.5" fill="none" stroke="currentColor" stroke-width="1.4"/>' +
                       '<rect x="7.2" y="7" width="1.6" height="5" rx=".8"/><circle cx="8" cy="4.8" r="1"/>');
  var NUMBERED_ICON = '<svg class="md-icon" viewBox="0 0 16 16" width="16" height="16" focusable="false">' +
    '<circle cx="2" cy="3" r="1.4"/><circle cx="2" cy="8" r="1.4"/><circle cx="2" cy="13" r="1.4"/>' +
    '<rect x="5" y="2" width="10" height="2" rx="1"/><rect x="5" y="7" width="10" height="2" rx="1"/>' +
    '<rect x="5" y="12" width="10" height="2" rx="1"/></svg>';

  function csrfToken(area) {
    var meta = document.querySelector("meta[name=csrf-token]");
    var field = (area.form && area.form.querySelector("input[name=csrf_token]")) ||
      document.querySelector("input[name=csrf_token]");
    return meta ? meta.content : (field ? field.value : "");
  }

  function store() {
    try { return window.localStorage; } catch (e) { return null; }
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  // ---- small edits the toolbar buttons make -------------------------------------------------------------

  function prefixLines(editor, prefix) {
    var cm = editor.codemirror;
    var from = cm.getCursor("from").line, to = cm.getCursor("to").line;
    cm.operation(function () {
      for (var line = from; line <= to; line++) {
        var text = cm.getLine(line);
        if (text.indexOf(prefix) === 0) {
          cm.replaceRange("", { line: line, ch: 0 }, { line: line, ch: prefix.length });
        } else {
          cm.replaceRange(prefix, { line: line, ch: 0 });
        }
      }
    });
    cm.focus();
  }

  // Text that must stand on its own lines (a callout, an image, a video link): blank lines around it.
  function insertBlock(editor, text, selectFrom, selectLength) {
    var cm = editor.codemirror;
    var cursor = cm.getCursor("from");
    var before = cm.getRange({ line: 0, ch: 0 }, cursor);
    var lead = before === "" ? "" : (/\n\n$/.test(before) ? "" : (/\n$/.test(before) ? "\n" : "\n\n"));
    cm.replaceSelection(lead + text + "\n\n");
    if (selectLength) {
      var start = cm.indexFromPos(cursor) + lead.length + selectFrom;
      cm.setSelection(cm.posFromIndex(start), cm.posFromIndex(start + selectLength));
    }
    cm.focus();
  }

  function insertCallout(editor) {
    var cm = editor.codemirror;
    var chosen = cm.getSelection() || "Write the note here.";
    var body = chosen.split("\n").map(function (line) { return "    " + line; }).join("\n");
    insertBlock(editor, "!!! note\n" + body, "!!! note\n    ".length, cm.getSelection() ? 0 : chosen.length);
  }

  function insertVideo(editor, status) {
    var link = window.prompt("Paste the video's link (YouTube, Vimeo, Loom or Microsoft Stream). " +
                             "It will play in the page.", "https://");
    if (!link || link.trim() === "https://") { editor.codemirror.focus(); return; }
    link = link.trim();
    if (!/^https:\/\/\S+$/.test(link)) {
      status.error("That is not a link starting with https:// — nothing was added.");
      editor.codemirror.focus();
      return;
    }
    insertBlock(editor, link);
    status.say("Video link added on its own line; the preview shows the player.");
  }

  // ---- uploads ----------------------------------------------------------------------------------------

  function uploader(editor, area, status) {
    var url = area.dataset.uploadUrl;
    var owner = area.dataset.uploadOwner || "draft";

    function send(file, alt) {
      var body = new FormData();
      body.append("file", file, file.name || "pasted-image.png");
      body.append("owner", owner);
      if (alt) body.append("alt", alt);
      status.say("Uploading " + (file.name || "the image") + "…");
      return fetch(url, { method: "POST", body: body, credentials: "same-origin",
                          headers: { "X-CSRFToken": csrfToken(area), "Accept": "application/json" } })
        .then(function (response) {
          return response.json().catch(function () { return {}; }).then(function (data) {
            if (response.status === 201 && data.markdown) return data;
            var reason = data.error || (response.status === 404 ? "uploads are not available on this site"
                                                                : "the server answered " + response.status);
            throw new Error(reason);
          });
        })
        .then(function (data) {
          if (data.kind === "image") insertBlock(editor, data.markdown);
          else editor.codemirror.replaceSelection(data.markdown);
          editor.codemirror.focus();
          status.say("Uploaded " + (data.name || "the file") + ".");
        })
        .catch(function (error) {
          status.error("Not uploaded: " + error.message + ". Your text is unchanged.");
        });
    }

    function upload(files) {
      Array.prototype.forEach.call(files, function (file) {
        var alt = "";
        if (/^image\//.test(file.type)) {
          alt = window.prompt("Describe this image for people who cannot see it (alt text), e.g. " +
                              "\"The refund button in the billing admin\".", "");
          if (alt === null) { status.say("Upload cancelled."); return; }
        }
        send(file, alt.trim());
      });
    }

    function pick(accept) {
      var input = el("input");
      input.type = "file";
      input.accept = accept;
      input.hidden = true;
      document.body.appendChild(input);
      input.addEventListener("change", function () {
        if (input.files.length) upload(input.files);
        input.remove();
      });
      input.click();
    }

    function filesOf(transfer) {
      if (!transfer) return [];
      return Array.prototype.filter.call(transfer.files || [], function (file) { return file.size >= 0; });
    }

    // A screenshot pasted with Ctrl+V, or files dropped on the text, upload and land at the cursor.
    editor.codemirror.on("paste", function (cm, event) {
      var files = filesOf(event.clipboardData);
      if (!files.length) return;
      event.preventDefault();
      upload(files);
    });
    editor.codemirror.on("drop", function (cm, event) {
      var files = filesOf(event.dataTransfer);
      if (!files.length) return;
      event.preventDefault();
      var spot = cm.coordsChar({ left: event.clientX, top: event.clientY });
      cm.setCursor(spot);
      upload(files);
    });

    return { pickImage: function () { pick(IMAGE_TYPES); }, pickFile: function () { pick(FILE_TYPES); } };
  }

  // ---- the [[article]] picker -------------------------------------------------------------------------

  function slugWords(title) {
    return title.normalize("NFKC").toLowerCase().split(/[^\p{L}\p{N}\p{M}]+/u).filter(Boolean).join("-");
  }

  function articlePicker(editor, area, status) {
    var dialog = el("dialog", "md-dialog");
    var id = (area.id || "md") + "-article-pick";
    dialog.setAttribute("aria-labelledby", id + "-title");
    dialog.innerHTML =
      '<form method="dialog" class="form">' +
      '<h2 class="small-heading no-top" id="' + id + '-title">Link to a handbook article</h2>' +
      '<label for="' + id + '">Article title</label>' +
      '<input id="' + id + '" type="text" list="' + id + '-list" autocomplete="off">' +
      '<datalist id="' + id + '-list"></datalist>' +
      '<p class="help" id="' + id + '-help">Start typing; pick a title from the list.</p>' +
      '<p class="md-dialog-buttons"><button type="submit" class="button primary" value="insert">Insert link</button> ' +
      '<button type="submit" class="button" value="cancel">Cancel</button></p></form>';
    document.body.appendChild(dialog);   // outside the page's form: a form may not hold another
    var input = dialog.querySelector("input");
    var list = dialog.querySelector("datalist");
    input.setAttribute("aria-describedby", id + "-help");
    var articles = null;

    function load() {
      if (articles) return Promise.resolve(articles);
      return fetch(area.dataset.articlesUrl + "?limit=500", { credentials: "same-origin",
                                                               headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { articles: [] }; })
        .then(function (data) {
          articles = data.articles || [];
          list.textContent = "";
          articles.forEach(function (article) { list.appendChild(new Option(article.title)); });
          return articles;
        });
    }

    dialog.addEventListener("close", function () {
      var title = input.value.trim();
      if (dialog.returnValue !== "insert" || !title) { editor.codemirror.focus(); return; }
      var match = (articles || []).filter(function (a) { return a.title === title; })[0];
      var text = "[[" + title + "]]";
      if (match) {
        var slug = new URL(match.url, window.location.href).pathname.split("/").pop();
        // [[Title]] links by the title's slug; an article whose address differs gets an ordinary link.
        if (!/^[\p{L}\p{N}_ -]+$/u.test(title) || decodeURIComponent(slug) !== slugWords(title)) {
          text = "[" + title.replace(/[\[\]]/g, "") + "](" + new URL(match.url).pathname + ")";
        }
      } else {
        status.say("No article is called “" + title + "” yet; the link will work once one is.");
      }
      editor.codemirror.replaceSelection(text);
      editor.codemirror.focus();
    });

    return function open() {
      input.value = editor.codemirror.getSelection();
      load().catch(function () {});
      dialog.showModal();
      input.focus();
    };
  }

  // ---- preview ----------------------------------------------------------------------------------------

  function previewer(editor, area) {
    var target = area.dataset.previewTarget ? document.querySelector(area.dataset.previewTarget) : null;
    var panel = null;
    if (!target) {
      panel = el("section", "md-preview card");
      panel.setAttribute("aria-label", "Preview");
      panel.tabIndex = 0;   // it scrolls on its own: keyboard users reach it to scroll with the arrow keys
      var heading = el("h2", "small-heading no-top", "Preview");
      target = el("div", "prose");
      target.setAttribute("aria-live", "polite");
      panel.appendChild(heading);
      panel.appendChild(target);
      area.closest(".md-split").appendChild(panel);
    }
    var timer = null, shown = null, asked = null;
    function refresh() {
      var text = editor.value();
      if (text === shown || text === asked) return;
      asked = text;
      var body = new FormData();
      body.append("body", text);
      body.append("csrf_token", csrfToken(area));
      fetch(area.dataset.previewUrl, { method: "POST", body: body, credentials: "same-origin",
                                       headers: { "Accept": "application/json", "X-CSRFToken": csrfToken(area) } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (data && asked === text) { target.innerHTML = data.html; shown = text; }
        })
        .catch(function () {});
    }
    editor.codemirror.on("change", function () { clearTimeout(timer); timer = setTimeout(refresh, 300); });
    if (panel) refresh();
    return panel;
  }

  // ---- local drafts -----------------------------------------------------------------------------------

  function drafts(editor, area, status) {
    var local = store();
    var key = area.dataset.draftKey;
    if (!local || !key) return;
    key = DRAFT_PREFIX + key;
    var timer = null;

    // This page came back after its form was sent (a refused save or a conflict): keep the draft.
    if (window.sessionStorage && sessionStorage.getItem(SENT_FLAG) === key) sessionStorage.removeItem(SENT_FLAG);

    var saved = null;
    try { saved = JSON.parse(local.getItem(key) || "null"); } catch (e) { saved = null; }
    if (saved && typeof saved.text === "string" && saved.text !== editor.value()) offer(saved);

    editor.codemirror.on("change", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        try {
          local.setItem(key, JSON.stringify({ text: editor.value(), saved_at: new Date().toISOString() }));
          status.kept("Draft kept in this browser at " + new Date().toLocaleTimeString());
        } catch (e) { status.kept("This browser cannot keep a draft (storage full or off)."); }
      }, 700);
    });
    if (area.form) {
      area.form.addEventListener("submit", function () {
        clearTimeout(timer);
        try { sessionStorage.setItem(SENT_FLAG, key); } catch (e) { /* the draft simply stays */ }
      });
    }

    function offer(draft) {
      var box = el("div", "notice md-draft-offer");
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", "Unsaved draft");
      var when = new Date(draft.saved_at);
      var text = el("p", "no-top", "This browser kept text you had not saved" +
                    (isNaN(when) ? "" : " (" + when.toLocaleString() + ")") + ".");
      var restore = el("button", "button primary", "Restore your unsaved draft");
      var discard = el("button", "button", "Discard it");
      restore.type = discard.type = "button";
      box.appendChild(text);
      box.appendChild(restore);
      box.appendChild(document.createTextNode(" "));
      box.appendChild(discard);
      var container = editor.codemirror.getWrapperElement().closest(".EasyMDEContainer");
      container.parentNode.insertBefore(box, container);
      restore.addEventListener("click", function () {
        editor.value(draft.text);
        box.remove();
        status.say("Draft restored. Save to keep it.");
        editor.codemirror.focus();
      });
      discard.addEventListener("click", function () {
        local.removeItem(key);
        box.remove();
        status.say("Draft discarded.");
        editor.codemirror.focus();
      });
    }
  }

  // ---- keyboard: the toolbar is one TAB stop, arrow keys move along it --------------------------------

  function keyboardToolbar(editor, label) {
    var bar = editor.toolbar_div;
    if (!bar) return;
    bar.setAttribute("aria-label", label);
    var buttons = Array.prototype.slice.call(bar.querySelectorAll("button"));
    buttons.forEach(function (button, index) { button.tabIndex = index === 0 ? 0 : -1; });
    bar.addEventListener("keydown", function (event) {
      var index = buttons.indexOf(document.activeElement);
      if (index < 0) return;
      var next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: buttons.length - 1 }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      next = (next + buttons.length) % buttons.length;
      buttons[index].tabIndex = -1;
      buttons[next].tabIndex = 0;
      buttons[next].focus();
    });
    bar.addEventListener("focusin", function (event) {
      if (buttons.indexOf(event.target) < 0) return;
      buttons.forEach(function (button) { button.tabIndex = button === event.target ? 0 : -1; });
    });
  }

  // One line under the editor: what just happened (announced), and when the local draft was last kept (not
  // announced: it changes with every pause in typing).
  function statusLine(editor, area) {
    var row = el("div", "md-status");
    var line = el("p", "help md-message");
    line.setAttribute("role", "status");
    var kept = el("p", "help md-kept");
    row.appendChild(line);
    row.appendChild(kept);
    var container = editor.codemirror.getWrapperElement().closest(".EasyMDEContainer");
    container.parentNode.insertBefore(row, container.nextSibling);
    return {
      say: function (text) { line.classList.remove("error"); line.textContent = text; },
      error: function (text) { line.classList.add("error"); line.textContent = text; },
      kept: function (text) { kept.textContent = text; }
    };
  }

  // ---- putting it together ----------------------------------------------------------------------------

  function button(name, glyph, title, action, className) {
    return { name: name, title: title, action: action, className: ("md-btn " + (className || "")).trim(),
             icon: '<span class="md-glyph" aria-hidden="true">' + glyph + "</span>" };
  }

  function enhance(area) {
    if (area.dataset.mdReady) return;
    area.dataset.mdReady = "1";
    var split = el("div", "md-split");
    area.parentNode.insertBefore(split, area);
    var column = el("div", "md-column");
    split.appendChild(column);
    column.appendChild(area);

    var holder = {};
    var status = null;
    var later = function (fn) { return function (editor) { fn(editor); }; };
    var toolbar = [
      button("heading-2", "H2", "H2 heading", EasyMDE.toggleHeading2),
      button("heading-3", "H3", "H3 subheading", EasyMDE.toggleHeading3),
      button("bold", "<b>B</b>", "Bold", EasyMDE.toggleBold),
      button("italic", "<i>I</i>", "Italic", EasyMDE.toggleItalic),
      "|",
      button("unordered-list", "•&#8202;≡", "Bulleted list", EasyMDE.toggleUnorderedList),
      button("ordered-list", NUMBERED_ICON, "Numbered list", EasyMDE.toggleOrderedList),
      button("checklist", "☑", "Checklist", function (editor) { prefixLines(editor, "- [ ] "); }),
      "|",
      button("link", LINK_ICON, "Web link", EasyMDE.drawLink),
      button("article-link", "[[ ]]", "Link to a handbook article",
             later(function () { holder.pickArticle(); }), "md-wide"),
      button("table", "▦", "Table", EasyMDE.drawTable),
      button("callout", NOTE_ICON + " Note", "Note box (a callout that stands out)", insertCallout, "md-wide"),
      "|",
      button("image", IMAGE_ICON + " Image", "Image or screenshot (upload)",
             later(function () { holder.upload.pickImage(); }), "md-wide"),
      button("attach", FILE_ICON + " File", "Attach a file (PDF, Word, Excel…)",
             later(function () { holder.upload.pickFile(); }), "md-wide"),
      button("video", "▶ Video", "Video (YouTube, Vimeo, Loom or Stream link)",
             function (editor) { insertVideo(editor, status); }, "md-wide"),
      "|",
      button("undo", "↶", "Undo", EasyMDE.undo),
      button("redo", "↷", "Redo", EasyMDE.redo)
    ];
    var editor = new EasyMDE({
      element: area,
      autoDownloadFontAwesome: false,
      spellChecker: false,
      nativeSpellcheck: true,
      inputStyle: "contenteditable",
      forceSync: true,
      status: false,
      toolbar: toolbar,
      minHeight: "320px",
      indentWithTabs: false,
      blockStyles: { italic: "_" },
      shortcuts: {
        "bold": "Cmd-B", "italic": "Cmd-I", "link": "Cmd-K", "heading-2": "Cmd-Alt-2", "heading-3": "Cmd-Alt-3",
        "unordered-list": "Shift-Cmd-8", "ordered-list": "Shift-Cmd-7", "checklist": "Shift-Cmd-9",
        "callout": "Shift-Cmd-N", "article-link": "Shift-Cmd-K", "undo": "Cmd-Z", "redo": "Shift-Cmd-Z",
        "toggleHeadingSmaller": null, "toggleUnorderedList": null, "toggleOrderedList": null,
        "toggleCodeBlock": null, "togglePreview": null, "toggleSideBySide": null, "toggleFullScreen": null,
        "toggleBlockquote": null, "cleanBlock": null, "drawImage": null
      }
    });
    holder.editor = editor;
    var cm = editor.codemirror;
    // TAB leaves the editor (no keyboard trap); lists still continue with ENTER.
    var keys = cm.getOption("extraKeys");
    keys.Tab = false;
    keys["Shift-Tab"] = false;
    cm.setOption("extraKeys", keys);

    var container = cm.getWrapperElement().closest(".EasyMDEContainer");
    container.removeAttribute("role");
    var input = cm.getInputField();
    var label = document.querySelector("label[for='" + area.id + "']");
    input.setAttribute("role", "textbox");
    input.setAttribute("aria-multiline", "true");
    if (label) {
      label.id = label.id || area.id + "-label";
      input.setAttribute("aria-labelledby", label.id);
      label.addEventListener("click", function () { cm.focus(); });
    } else {
      input.setAttribute("aria-label", "Text (Markdown)");
    }
    if (area.getAttribute("aria-describedby")) input.setAttribute("aria-describedby", area.getAttribute("aria-describedby"));
    if (area.getAttribute("aria-invalid")) input.setAttribute("aria-invalid", area.getAttribute("aria-invalid"));
    if (area.hasAttribute("autofocus")) cm.focus();

    status = statusLine(editor, area);
    holder.upload = uploader(editor, area, status);
    holder.pickArticle = articlePicker(editor, area, status);
    keyboardToolbar(editor, "Formatting for " + (label ? label.textContent.trim() : "the text"));
    var panel = previewer(editor, area);
    if (!panel) split.classList.add("md-split-single");
    drafts(editor, area, status);
    // The page's own no-JavaScript note about the preview no longer applies.
    document.querySelectorAll("[data-preview-nojs]").forEach(function (note) { note.hidden = true; });
  }

  document.querySelectorAll("textarea[data-markdown-editor]").forEach(enhance);
})();
