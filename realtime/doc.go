// Package realtime carries every write to the followed collections to the
// clients that follow them, over Server-Sent Events (API.md §10).
//
// The parts, in the order a change travels:
//
//   - Capture wraps the document store: every write to a resource's
//     collection, by any route or by the CLI, is recorded with the document
//     before and after, inside the write's transaction, and appended to the
//     log once it has committed.
//   - A Log keeps the changes for the retention, in order, with increasing
//     positions: a table in a SQLite file of the data dir by default, a
//     Redis stream shared by every replica when Redis is configured.
//   - The Hub tails the log and hands each change to the streams that follow
//     its collection. Each stream decides it with resources.Follow, the same
//     code that answers queries, so an event shows a document exactly as the
//     subscriber's query would, or not at all.
//   - A Stream owns one client's connection: a bounded queue, a writer that
//     runs only while there is something to write, and a reader that notices
//     the client leaving. Idle streams hold no goroutine but that reader.
package realtime
