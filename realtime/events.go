package realtime

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/tnt/gateway/resources"
)

// The event names of a stream (API.md §10).
const (
	eventConnected = "connected"
	eventResync    = "resync"
	eventEnded     = "ended"
	eventShutdown  = "shutdown"
)

// The reasons the stream's control events give.
const (
	reasonSlow        = "the client did not read fast enough; refetch and reconnect"
	reasonUnknown     = "the last event id is unknown or past the retention; refetch"
	reasonDrop        = "the collection was emptied or replaced; refetch"
	reasonLost        = "changes could not be recorded; refetch"
	reasonSession     = "the session or the credentials this stream was opened with are no longer valid"
	reasonShutdown    = "the gateway is shutting down"
	reasonUnavailable = "the change feed is unavailable"
)

// eventID names a position of a stream: the client id, the log's epoch and
// the position. It is opaque to clients and increases along a stream.
func eventID(clientID, epoch string, pos uint64) string {
	return clientID + "." + epoch + "." + strconv.FormatUint(pos, 10)
}

// parseEventID reads an event id back; ok is false for anything else.
func parseEventID(id string) (clientID, epoch string, pos uint64, ok bool) {
	if len(id) > 128 {
		return "", "", 0, false
	}
	parts := strings.Split(id, ".")
	if len(parts) != 3 || !validClientID(parts[0]) || parts[1] == "" {
		return "", "", 0, false
	}
	pos, err := strconv.ParseUint(parts[2], 10, 64)
	return parts[0], parts[1], pos, err == nil
}

// clientIDBytes is the randomness of a client id: a guest's stream has no
// other binding.
const clientIDBytes = 16

func validClientID(id string) bool {
	if len(id) != 22 { // 16 bytes in unpadded base64url
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// appendEvent writes one event in the text/event-stream format. data is
// JSON, which never holds a raw line break.
func appendEvent(b []byte, id, event string, data []byte) []byte {
	if id != "" {
		b = append(b, "id: "...)
		b = append(b, id...)
		b = append(b, '\n')
	}
	b = append(b, "event: "...)
	b = append(b, event...)
	b = append(b, "\ndata: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}

// changeData is the data of a create, update, delete or leave event.
func changeData(resource, action string, record []byte, indexes []int) []byte {
	b := make([]byte, 0, len(record)+64+len(resource))
	b = append(b, `{"resource":`...)
	b = strconv.AppendQuote(b, resource) // resource names are plain ASCII
	b = append(b, `,"action":"`...)
	b = append(b, action...)
	b = append(b, `","record":`...)
	b = append(b, record...)
	b = append(b, `,"subscriptions":[`...)
	for i, n := range indexes {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(n), 10)
	}
	return append(b, "]}"...)
}

// reasonData is the data of a control event.
func reasonData(reason string, retryMS int64) []byte {
	m := map[string]any{"reason": reason}
	if retryMS > 0 {
		m["retry_ms"] = retryMS
	}
	b, _ := json.Marshal(m)
	return b
}

// idRecord is the record of a delete or a leave: the id alone.
func idRecord(id string) []byte {
	b, _ := json.Marshal(resources.Document{resources.FieldID: id})
	return b
}
