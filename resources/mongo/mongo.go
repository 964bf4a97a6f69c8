// Package mongo is the MongoDB document store (go.mongodb.org/mongo-driver/v2).
// Filters and updates are built only from validated queries (see Filter and
// UpdateDoc); no client JSON ever reaches the driver.
package mongo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readconcern"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"github.com/tnt/gateway/resources"
)

// Store is a resources.Store on one MongoDB database.
type Store struct {
	client *mongo.Client
	db     *mongo.Database

	mu     sync.RWMutex
	unique map[string][]string
}

var _ resources.Store = (*Store)(nil)

// Open connects to uri and uses database db. It does not wait for the
// server: Ping (and /readyz) tell whether it is reachable.
func Open(uri, db string) (*Store, error) {
	opts := options.Client().ApplyURI(uri).
		SetServerSelectionTimeout(5 * time.Second).
		SetConnectTimeout(5 * time.Second).
		SetAppName("gateway")
	client, err := mongo.Connect(opts)
	if err != nil {
		return nil, fmt.Errorf("mongo: connect: %w", err)
	}
	return &Store{client: client, db: client.Database(db), unique: make(map[string][]string)}, nil
}

// Close disconnects.
func (s *Store) Close(ctx context.Context) error { return s.client.Disconnect(ctx) }

// DropDatabase removes the whole database (tests use throw-away databases).
func (s *Store) DropDatabase(ctx context.Context) error { return s.db.Drop(ctx) }

// EnsureCollection creates the unique and query indexes of a collection.
func (s *Store) EnsureCollection(ctx context.Context, spec resources.CollectionSpec) error {
	models, err := IndexModels(spec)
	if err != nil {
		return err
	}
	if len(models) > 0 {
		if _, err := s.db.Collection(spec.Name).Indexes().CreateMany(ctx, models); err != nil {
			return classify(err)
		}
	}
	s.mu.Lock()
	s.unique[spec.Name] = spec.Unique
	s.mu.Unlock()
	return nil
}

// IndexModels are the indexes a collection needs: one unique index per
// unique key, partial so that documents without the key take no part, and
// one index per queried path, with _id to order ties.
func IndexModels(spec resources.CollectionSpec) ([]mongo.IndexModel, error) {
	var models []mongo.IndexModel
	for _, u := range spec.Unique {
		if err := checkPath(u); err != nil {
			return nil, err
		}
		models = append(models, mongo.IndexModel{
			Keys: bson.D{{Key: u, Value: 1}},
			Options: options.Index().SetUnique(true).SetName(uniqueIndex(u)).
				SetPartialFilterExpression(bson.D{{Key: u, Value: bson.D{{Key: "$type", Value: "string"}}}}),
		})
	}
	for _, p := range spec.Indexed {
		if p == resources.FieldID {
			continue
		}
		if err := checkPath(p); err != nil {
			return nil, err
		}
		models = append(models, mongo.IndexModel{
			Keys:    bson.D{{Key: p, Value: 1}, {Key: "_id", Value: 1}},
			Options: options.Index().SetName("i_" + p),
		})
	}
	return models, nil
}

// Insert stores a new document.
func (s *Store) Insert(ctx context.Context, coll string, doc resources.Document) error {
	_, err := s.db.Collection(coll).InsertOne(ctx, doc)
	return s.writeError(coll, err)
}

// Get returns one document by id.
func (s *Store) Get(ctx context.Context, coll, id string) (resources.Document, error) {
	var m bson.M
	err := s.db.Collection(coll).FindOne(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$eq", Value: id}}}}).Decode(&m)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, resources.ErrNotFound
	}
	if err != nil {
		return nil, classify(err)
	}
	return normalize(m).(map[string]any), nil
}

// cursor starts a validated query.
func (s *Store) cursor(ctx context.Context, coll string, q resources.Query) (*mongo.Cursor, error) {
	filter, err := Filter(q)
	if err != nil {
		return nil, err
	}
	order, err := Sort(q)
	if err != nil {
		return nil, err
	}
	cur, err := s.db.Collection(coll).Find(ctx, filter, options.Find().SetSort(order).SetLimit(int64(q.Limit)))
	return cur, classify(err)
}

// Find runs a validated query.
func (s *Store) Find(ctx context.Context, coll string, q resources.Query) ([]resources.Document, error) {
	cur, err := s.cursor(ctx, coll, q)
	if err != nil {
		return nil, err
	}
	var raw []bson.M
	if err := cur.All(ctx, &raw); err != nil {
		return nil, classify(err)
	}
	docs := make([]resources.Document, len(raw))
	for i, m := range raw {
		docs[i] = normalize(m).(map[string]any)
	}
	return docs, nil
}

// Update applies a partial update and returns the document afterwards.
func (s *Store) Update(ctx context.Context, coll, id string, set resources.Document, unset []string) (resources.Document, error) {
	upd, err := UpdateDoc(set, unset)
	if err != nil {
		return nil, err
	}
	var m bson.M
	err = s.db.Collection(coll).FindOneAndUpdate(ctx,
		bson.D{{Key: "_id", Value: bson.D{{Key: "$eq", Value: id}}}}, upd,
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&m)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, resources.ErrNotFound
	}
	if err != nil {
		return nil, s.writeError(coll, err)
	}
	return normalize(m).(map[string]any), nil
}

// Delete removes one document.
func (s *Store) Delete(ctx context.Context, coll, id string) error {
	res, err := s.db.Collection(coll).DeleteOne(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$eq", Value: id}}}})
	if err != nil {
		return classify(err)
	}
	if res.DeletedCount == 0 {
		return resources.ErrNotFound
	}
	return nil
}

// Drop removes every document of a collection and keeps its indexes.
func (s *Store) Drop(ctx context.Context, coll string) error {
	_, err := s.db.Collection(coll).DeleteMany(ctx, bson.D{})
	return classify(err)
}

// Ping checks that the primary is reachable.
func (s *Store) Ping(ctx context.Context) error {
	return classify(s.client.Ping(ctx, readpref.Primary()))
}

func (s *Store) writeError(coll string, err error) error {
	if err == nil {
		return nil
	}
	if mongo.IsDuplicateKeyError(err) {
		s.mu.RLock()
		keys := s.unique[coll]
		s.mu.RUnlock()
		return &resources.DuplicateError{Field: collided(err.Error(), keys)}
	}
	return classify(err)
}

// classify marks errors that mean the server cannot be reached (selection,
// network, deadline) as unavailable.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var sel topology.ServerSelectionError
	if mongo.IsTimeout(err) || mongo.IsNetworkError(err) || errors.As(err, &sel) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, mongo.ErrClientDisconnected) {
		return resources.Unavailable(err)
	}
	return err
}

// WithTx runs fn in a MongoDB transaction (a replica set is required) with
// majority write concern. The driver retries fn on transient errors and the
// commit on unknown results, so fn may run more than once.
func (s *Store) WithTx(ctx context.Context, fn func(ctx context.Context, tx resources.Tx) error) error {
	sess, err := s.client.StartSession()
	if err != nil {
		return classify(err)
	}
	defer sess.EndSession(context.WithoutCancel(ctx))
	opts := options.Transaction().SetWriteConcern(writeconcern.Majority()).SetReadConcern(readconcern.Snapshot())
	_, err = sess.WithTransaction(ctx, func(sc context.Context) (any, error) {
		return nil, fn(sc, s)
	}, opts)
	if err != nil {
		var app *resources.Error
		if errors.As(err, &app) {
			return err
		}
		return s.writeError("", err)
	}
	return nil
}

// ReadSnapshot runs fn with snapshot reads (MongoDB 5.0 or later): every
// read sees the same point in time.
func (s *Store) ReadSnapshot(ctx context.Context, fn func(ctx context.Context, r resources.Tx) error) error {
	sess, err := s.client.StartSession(options.Session().SetSnapshot(true))
	if err != nil {
		return classify(err)
	}
	defer sess.EndSession(context.WithoutCancel(ctx))
	return fn(mongo.NewSessionContext(ctx, sess), s)
}

// uniqueIndex names the unique index of a path.
func uniqueIndex(path string) string { return "u_" + path }

// collided names the unique key a duplicate-key error is about: the server's
// message names the index ("... index: u_email dup key ..."); an _id
// collision or an unknown index is the first key.
func collided(message string, keys []string) string {
	for _, k := range keys {
		if strings.Contains(message, "index: "+uniqueIndex(k)+" ") {
			return k
		}
	}
	if strings.Contains(message, "index: _id_ ") {
		return resources.FieldID
	}
	if len(keys) > 0 {
		return keys[0]
	}
	return ""
}
