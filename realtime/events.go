package realtime

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
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

// ids makes and reads event ids: "<client id>.<epoch>.<n>.<box>". n counts
// the stream's events, so ids increase along a stream, across resumes too;
// box is the log position sealed with the log's key (AES, one block, with a
// tag of the client id), so a client learns nothing of the log from its ids
// (not how much was written elsewhere) and cannot make up a position.
type ids struct {
	epoch string
	block cipher.Block
}

func newIDs(epoch string, key []byte) (*ids, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("realtime log key: %w", err)
	}
	return &ids{epoch: epoch, block: block}, nil
}

// clientTag binds a sealed position to its stream.
func clientTag(clientID string) [8]byte {
	sum := sha256.Sum256([]byte("realtime-event\x00" + clientID))
	return [8]byte(sum[:8])
}

// appendID writes the id of a stream's n-th event, at pos.
func (c *ids) appendID(b []byte, clientID string, tag [8]byte, n, pos uint64) []byte {
	var block [16]byte
	binary.BigEndian.PutUint64(block[:8], pos)
	copy(block[8:], tag[:])
	c.block.Encrypt(block[:], block[:])
	b = append(b, clientID...)
	b = append(b, '.')
	b = append(b, c.epoch...)
	b = append(b, '.')
	b = strconv.AppendUint(b, n, 10)
	b = append(b, '.')
	return base64.RawURLEncoding.AppendEncode(b, block[:])
}

// parse reads an id back: ok is false for anything that is not an id of
// this log (another epoch, a forged or altered position).
func (c *ids) parse(id string) (clientID string, n, pos uint64, ok bool) {
	if len(id) > 160 {
		return "", 0, 0, false
	}
	parts := strings.Split(id, ".")
	if len(parts) != 4 || !validClientID(parts[0]) || parts[1] != c.epoch {
		return "", 0, 0, false
	}
	n, err := strconv.ParseUint(parts[2], 10, 64)
	box, err2 := base64.RawURLEncoding.DecodeString(parts[3])
	if err != nil || err2 != nil || len(box) != 16 {
		return "", 0, 0, false
	}
	c.block.Decrypt(box, box)
	if tag := clientTag(parts[0]); !bytes.Equal(box[8:], tag[:]) {
		return "", 0, 0, false
	}
	return parts[0], n, binary.BigEndian.Uint64(box[:8]), true
}

// clientOf reads the client id and the count an event id names, whatever
// its log: a stream whose position is lost keeps its client id, and its
// ids keep increasing.
func clientOf(id string) (string, uint64, bool) {
	parts := strings.Split(id, ".")
	if len(id) > 160 || len(parts) != 4 || !validClientID(parts[0]) {
		return "", 0, false
	}
	n, _ := strconv.ParseUint(parts[2], 10, 64)
	return parts[0], n, true
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

// appendEvent writes one event in the text/event-stream format, after its
// id line if it has one. data is JSON, which never holds a raw line break.
func appendEvent(b []byte, event string, data []byte) []byte {
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
