package telegramtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"
)

// maxBody is above Telegram's 50 MB upload limit so real-sized documents fit.
const maxBody = 64 << 20

const attachPrefix = "attach://"

// parseParams reads the query string and then the body, which may be JSON,
// a urlencoded form or multipart/form-data, as Telegram accepts all three.
// Body values override query values of the same name.
func parseParams(w http.ResponseWriter, r *http.Request) (map[string]any, *apiError) {
	params := map[string]any{}
	for k, v := range r.URL.Query() {
		params[k] = v[0]
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	mediaType, mediaParams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	switch mediaType {
	case "application/json":
		err = parseJSONBody(r.Body, params)
	case "application/x-www-form-urlencoded":
		err = parseFormBody(r, params)
	case "multipart/form-data":
		err = parseMultipart(multipart.NewReader(r.Body, mediaParams["boundary"]), params)
	}
	if err != nil {
		return params, badRequest("can't parse request: %v", err)
	}
	return params, nil
}

func parseJSONBody(body io.Reader, params map[string]any) error {
	data, err := io.ReadAll(body)
	if err != nil || len(bytes.TrimSpace(data)) == 0 {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()        // keep 64-bit ids exact
	var obj map[string]any // telego sends null for methods without parameters
	if err := dec.Decode(&obj); err != nil {
		return err
	}
	for k, v := range obj {
		params[k] = v
	}
	return nil
}

func parseFormBody(r *http.Request, params map[string]any) error {
	if err := r.ParseForm(); err != nil {
		return err
	}
	for k, v := range r.PostForm {
		params[k] = v[0]
	}
	return nil
}

// parseMultipart keeps text fields as strings and file parts as File. A file
// part is the value of the parameter of its field name, unless a parameter
// refers to it as attach://<field>, as the Bot API allows.
func parseMultipart(mr *multipart.Reader, params map[string]any) error {
	files := map[string]File{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return err
		}
		if part.FileName() != "" {
			files[part.FormName()] = File{Name: part.FileName(), Data: data}
		} else {
			params[part.FormName()] = string(data)
		}
	}
	resolveAttachments(params, files)
	return nil
}

func resolveAttachments(params map[string]any, files map[string]File) {
	for k, v := range params {
		ref, ok := v.(string)
		if name, found := strings.CutPrefix(ref, attachPrefix); ok && found {
			if f, ok := files[name]; ok {
				params[k] = f
				delete(files, name)
			}
		}
	}
	for name, f := range files {
		params[name] = f
	}
}

// request is one checked call being run by a method handler, under the lock.
type request struct {
	s      *Server
	bot    *botState
	params map[string]any
	now    time.Time
	desc   string     // description to send with a successful result
	outbox []outbound // updates to deliver once the lock is released
}

func (r *request) has(name string) bool {
	_, ok := r.params[name]
	return ok
}

func (r *request) str(name string) string {
	s, _ := r.params[name].(string)
	return s
}

func (r *request) int(name string) int64 {
	n, _ := r.params[name].(int64)
	return n
}

func (r *request) bool(name string) bool {
	b, _ := r.params[name].(bool)
	return b
}

// decode turns an object parameter into a telego type.
func (r *request) decode(name string, dst any) *apiError {
	data, err := json.Marshal(r.params[name])
	if err == nil {
		err = json.Unmarshal(data, dst)
	}
	if err != nil {
		return badRequest("can't parse %s: %v", name, err)
	}
	return nil
}

func (r *request) date() int64 { return r.now.Unix() }

// chatID resolves chat_id. Only numeric ids are supported: the fake's chats
// have no public usernames, so "@name" is a chat Telegram would not find.
func (r *request) chatID() (int64, *apiError) {
	id, ok := r.params["chat_id"].(int64)
	if !ok || id == 0 {
		return 0, badRequest("chat not found")
	}
	return id, nil
}
