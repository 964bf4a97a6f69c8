// Backup and restore (DBA): download the whole database; upload an archive
// with a confirmation step and progress.

import * as api from "../api.js";
import { h, notify, confirmAction } from "../dom.js";

export async function backupView(ctx) {
  const parts = [h("h1", {}, "Backup and restore")];
  if (ctx.can("database", "backup")) {
    const status = h("span", { class: "muted" });
    parts.push(h("div", { class: "card" }, h("h2", {}, "Backup"),
      h("p", {}, "A full archive of every resource, user and setting (gzip, JSON lines)."),
      h("div", { class: "row" }, h("button", {
        type: "button", class: "primary", id: "backup-download", onclick: async () => {
          status.textContent = "Taking the backup…";
          try {
            const resp = await api.raw("/api/admin/backup");
            const blob = await resp.blob();
            const name = /filename="([^"]+)"/.exec(resp.headers.get("Content-Disposition") || "");
            const a = h("a", { href: URL.createObjectURL(blob), download: name ? name[1] : "gateway-backup.jsonl.gz" });
            document.body.append(a);
            a.click();
            a.remove();
            setTimeout(() => URL.revokeObjectURL(a.href), 60000);
            status.textContent = `Downloaded ${(blob.size / 1024).toFixed(1)} KiB.`;
          } catch (err) { status.textContent = ""; notify(err.message, "error"); }
        },
      }, "Download backup"), status)));
  }
  if (ctx.can("database", "restore")) {
    const file = h("input", { type: "file", id: "restore-file", accept: ".gz,application/gzip", "aria-label": "Archive" });
    const progress = h("progress", { max: 1, value: 0, hidden: true });
    const result = h("div", { id: "restore-result" });
    parts.push(h("div", { class: "card" }, h("h2", {}, "Restore"),
      h("p", { class: "bad" }, "Restoring replaces every document, user and setting with the archive's, and ends every session but yours. A corrupt or truncated archive is refused whole."),
      h("div", { class: "row" }, file, h("button", {
        type: "button", class: "danger", onclick: async () => {
          const f = file.files[0];
          if (!f) { notify("Choose an archive first.", "error"); return; }
          if (!(await confirmAction(`Replace the whole database with ${f.name} (${(f.size / 1024).toFixed(1)} KiB)?`, "restore"))) return;
          progress.hidden = false;
          progress.value = 0;
          result.textContent = "Uploading…";
          try {
            const summary = await api.upload("/api/admin/restore", f, (x) => { progress.value = x; });
            progress.value = 1;
            result.replaceChildren(h("p", { class: "ok" }, "Restored."), h("pre", {}, JSON.stringify(summary, null, 2)));
          } catch (err) {
            result.replaceChildren(h("p", { class: "bad", role: "alert" }, "Refused: " + err.message));
          }
        },
      }, "Restore…")), progress, result));
  }
  ctx.mount(...parts);
}
