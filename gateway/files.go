package gateway

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tnt/gateway/resources"
	"github.com/tnt/gateway/resources/files"
)

// fileService uploads, serves and removes the files of file fields
// (files.Service).
type fileService interface {
	Upload(ctx context.Context, p resources.Principal, resource, id, field string, parts files.Parts) (resources.Document, error)
	Remove(ctx context.Context, p resources.Principal, resource, id, field, name string) (resources.Document, error)
	Open(ctx context.Context, p resources.Principal, resource, id, name, thumb string) (files.Download, error)
}

// routeUpload is the upload route, whose body may exceed the JSON bound.
const routeUpload = "/api/:resource/:id/files/:field"

// bindFileRoutes registers API.md §12.
func (s *Server) bindFileRoutes(api *gin.RouterGroup) {
	api.POST("/:resource/:id/files/:field", s.handler(s.upload))
	api.DELETE("/:resource/:id/files/:field/:name", s.handler(s.removeFile))
	api.GET("/files/:resource/:id/:name", s.handler(s.download))
}

func (s *Server) noFiles() error {
	return resources.Errorf(resources.EUNAVAILABLE, "file storage is not configured")
}

// partsOf reads the file parts of a multipart body one at a time, as they
// stream: nothing is held but the part being read.
type partsOf struct {
	r *multipart.Reader
}

func (p partsOf) Next() (io.Reader, error) {
	part, err := p.r.NextPart()
	if errors.Is(err, io.EOF) {
		return nil, io.EOF
	}
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, resources.Errorf(resources.ETOOLARGE, "the upload is larger than %d bytes", tooLarge.Limit)
		}
		return nil, resources.Errorf(resources.EINVALIDREQUEST, "the multipart body cannot be read")
	}
	if part.FormName() != "file" {
		return nil, resources.Errorf(resources.EINVALIDREQUEST, "%s is not a part of this request: send each file as a part named file", clip(part.FormName()))
	}
	return part, nil
}

// upload serves POST /api/{resource}/{id}/files/{field}.
func (s *Server) upload(c *gin.Context) error {
	if s.files == nil {
		return closeUnread(c, s.noFiles())
	}
	if principal(c).IsGuest() {
		return closeUnread(c, resources.Errorf(resources.EAUTHENTICATION, "authentication is required"))
	}
	mediaType, params, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mediaType != "multipart/form-data" || params["boundary"] == "" {
		return closeUnread(c, resources.Errorf(resources.EMEDIATYPE, "an upload is multipart/form-data with one or more parts named file"))
	}
	doc, err := s.files.Upload(c.Request.Context(), principal(c), c.Param("resource"), c.Param("id"), c.Param("field"),
		partsOf{r: multipart.NewReader(c.Request.Body, params["boundary"])})
	if err != nil {
		s.refuseMidBody(c, err)
		return nil
	}
	ok(c, http.StatusCreated, doc, "")
	return nil
}

// removeFile serves DELETE /api/{resource}/{id}/files/{field}/{name}.
func (s *Server) removeFile(c *gin.Context) error {
	if s.files == nil {
		return s.noFiles()
	}
	doc, err := s.files.Remove(c.Request.Context(), principal(c), c.Param("resource"), c.Param("id"), c.Param("field"), c.Param("name"))
	return answer(c, doc, err)
}

// download serves GET /api/files/{resource}/{id}/{name}: the file to
// whoever may read the field that holds it, with ranges and ETags; only
// raster images inline, anything else as a sandboxed attachment.
func (s *Server) download(c *gin.Context) error {
	if s.files == nil {
		return s.noFiles()
	}
	d, err := s.files.Open(c.Request.Context(), principal(c), c.Param("resource"), c.Param("id"), c.Param("name"), c.Query("thumb"))
	if err != nil {
		return err
	}
	defer d.Blob.Close()
	h := c.Writer.Header()
	h.Set("Content-Type", d.Type)
	h.Set("ETag", `"`+d.Name+`"`) // a name is never reused for other bytes
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-cache")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	disposition := "attachment"
	if d.Inline {
		disposition = "inline"
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": d.Name}))
	http.ServeContent(c.Writer, c.Request, d.Name, d.Blob.ModTime(), d.Blob)
	return nil
}

// refuseMidBody answers a refusal while the client may still be sending
// the body (a file over its bound): the answer goes first, then up to 8
// MiB more of the body is read away for at most 2 seconds, so that the
// client reads the answer before the connection closes (closing on unread
// bytes resets the connection, and a reset can take the answer with it).
func (s *Server) refuseMidBody(c *gin.Context, err error) {
	c.Header("Connection", "close")
	s.fail(c, err)
	c.Writer.Flush()
	_ = http.NewResponseController(c.Writer).SetReadDeadline(time.Now().Add(2 * time.Second))
	_, _ = io.CopyN(io.Discard, c.Request.Body, 8<<20)
}
