// The files of a document's file fields: thumbnails (fetched with the
// caller's token, shown from blob: URLs), downloads, removal, and uploads
// with progress.

import * as api from "./api.js";
import { h, notify } from "./dom.js";

const RASTER = ["png", "jpg", "gif", "webp"];

/** fileFields lists a resource's file fields: [name, {types, maxSize, maxItems, thumbs}]. */
export function fileFields(stored) {
  return Object.entries(stored.properties).filter(([, p]) => p["x-file"]).map(([k, p]) => [k, p["x-file"]]);
}

async function objectURL(path) {
  const resp = await api.raw(path);
  return URL.createObjectURL(await resp.blob());
}

/**
 * filesSection shows one file field of a document: each file (a thumbnail
 * for an image), and, for a caller who may change the document, removal
 * and an upload. changed(doc) gets the document after a change.
 */
export function filesSection(resource, doc, field, spec, canChange, changed) {
  const names = doc[field] === undefined || doc[field] === null ? [] : [].concat(doc[field]);
  const base = `/api/files/${encodeURIComponent(resource)}/${encodeURIComponent(doc._id)}/`;
  const list = h("div", { class: "files", dataset: { field } });
  for (const name of names) {
    const ext = name.split(".").pop();
    const item = h("figure", { class: "file" });
    if (RASTER.includes(ext)) {
      const img = h("img", { alt: name, class: "thumb" });
      const thumb = (spec.thumbs || [])[0];
      objectURL(base + encodeURIComponent(name) + (thumb ? "?thumb=" + thumb : "")).then((u) => {
        img.addEventListener("load", () => URL.revokeObjectURL(u), { once: true });
        img.src = u;
      }, () => { img.alt = "cannot be shown"; });
      item.append(img);
    }
    item.append(h("figcaption", {}, h("span", { class: "mono" }, name), " ",
      h("button", {
        type: "button", onclick: async () => {
          try {
            const u = await objectURL(base + encodeURIComponent(name));
            const a = h("a", { href: u, download: name });
            document.body.append(a); a.click(); a.remove();
            setTimeout(() => URL.revokeObjectURL(u), 60_000); // the download has its copy by then
          } catch (err) { notify(err.message, "error"); }
        },
      }, "Download"),
      canChange ? h("button", {
        type: "button", class: "danger", onclick: async () => {
          try {
            changed(await api.data("DELETE", `/api/${encodeURIComponent(resource)}/${encodeURIComponent(doc._id)}/files/${encodeURIComponent(field)}/${encodeURIComponent(name)}`));
            notify(`${name} removed.`);
          } catch (err) { notify(err.message, "error"); }
        },
      }, "Remove") : null));
    list.append(item);
  }
  if (names.length === 0) list.append(h("p", { class: "muted" }, "No file."));
  const parts = [h("h3", {}, field), list];
  if (canChange) {
    const input = h("input", { type: "file", "aria-label": "Files for " + field, multiple: spec.maxItems > 1, accept: spec.types.join(",") });
    const progress = h("progress", { max: 1, value: 0, hidden: true });
    parts.push(h("div", { class: "row" }, input, h("button", {
      type: "button", onclick: async () => {
        if (input.files.length === 0) { notify("Choose a file first.", "error"); return; }
        const big = [...input.files].find((f) => f.size > spec.maxSize);
        if (big) { notify(`${big.name} is larger than ${spec.maxSize} bytes.`, "error"); return; }
        progress.hidden = false;
        try {
          const updated = await api.uploadFiles(`/api/${encodeURIComponent(resource)}/${encodeURIComponent(doc._id)}/files/${encodeURIComponent(field)}`,
            [...input.files], (f) => { progress.value = f; });
          notify(`${input.files.length} file(s) uploaded to ${field}.`);
          changed(updated);
        } catch (err) { notify(err.message, "error"); } finally { progress.hidden = true; }
      },
    }, "Upload to " + field), progress,
    h("div", { class: "hint" }, `${spec.types.join(", ")}; at most ${spec.maxSize} bytes${spec.maxItems > 1 ? `, ${spec.maxItems} files` : ""}`)));
  }
  return h("div", { class: "file-field" }, ...parts);
}
