// Package gateway is the HTTP layer (Gin): routes, middleware (request id,
// access log, metrics, recovery, body limit, authentication, authorization),
// thin handlers, the response envelope and the one table that maps error
// codes to statuses. It holds no business rule and builds no store query;
// Gin types never leave this package.
package gateway
