// Live updates: a view follows a resource over the gateway's event stream,
// through the same public API as any client (API.md §10): a ticket for
// EventSource, which cannot send the token, then the stream and its
// subscriptions. One view is live at a time; following anew stops the
// previous one.

import * as api from "./api.js";

let current = null; // the view that is live now: {stop()}

/**
 * follow calls onChange (at most every quarter second) whenever a document
 * of resource is created, changed or deleted, or the stream says to
 * refetch; onState(text) tells whether the view is live. It returns stop.
 */
export function follow(resource, onChange, onState = () => {}) {
  if (current) current.stop();
  let es = null;
  let stopped = false;
  let lastId = "";
  let timer = 0;
  let retry = 0;
  const changed = () => {
    if (!timer) timer = setTimeout(() => { timer = 0; if (!stopped) onChange(); }, 250);
  };
  async function open() {
    if (stopped) return;
    let ticket;
    try {
      ({ ticket } = await api.data("POST", "/api/realtime/ticket"));
    } catch {
      onState("updates off");
      return; // signed out, or no right: the view still works by hand
    }
    if (stopped) return;
    // A new EventSource cannot send Last-Event-ID itself: the parameter
    // resumes the stream where the last one stopped.
    const q = new URLSearchParams({ ticket });
    if (lastId) q.set("last_event_id", lastId);
    es = new EventSource("/api/realtime?" + q);
    const seen = (e) => { if (e.lastEventId) lastId = e.lastEventId; };
    es.addEventListener("connected", async (e) => {
      seen(e);
      retry = 0;
      const { client_id: clientID } = JSON.parse(e.data);
      try {
        await api.data("PUT", "/api/realtime/subscriptions", { client_id: clientID, subscriptions: [{ resource }] });
        onState("live");
      } catch {
        onState("updates off");
      }
    });
    for (const kind of ["create", "update", "delete", "leave", "resync"]) {
      es.addEventListener(kind, (e) => { seen(e); changed(); });
    }
    // ended: the session is over (the next call signs out); shutdown or a
    // lost connection: come back with a new ticket.
    es.addEventListener("ended", () => { es.close(); onState("updates off"); });
    es.addEventListener("error", () => {
      if (stopped || es.readyState !== EventSource.CLOSED) return;
      onState("reconnecting…");
      retry = Math.min(retry + 1, 6);
      setTimeout(open, 500 * 2 ** retry);
    });
    es.addEventListener("shutdown", () => {
      es.close();
      onState("reconnecting…");
      setTimeout(open, 2000);
    });
  }
  const me = {
    stop() {
      stopped = true;
      clearTimeout(timer);
      if (es) es.close();
      if (current === me) current = null;
    },
  };
  current = me;
  open();
  return me.stop;
}

/** stopFollowing ends the live view, if any (the caller moved on). */
export function stopFollowing() {
  if (current) current.stop();
}
