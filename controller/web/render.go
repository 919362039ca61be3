package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"dalaba/controller/receipts"
)

// page is a template set: the layout with one page's content.
type page struct{ t *template.Template }

// view is what every template gets.
type view struct {
	User user
	CSRF string
	Page string // the page's name, for the menu
	Data any
}

var funcs = template.FuncMap{
	"when": func(t any) string {
		var tm time.Time
		switch v := t.(type) {
		case time.Time:
			tm = v
		case *time.Time:
			if v != nil {
				tm = *v
			}
		case string:
			tm, _ = time.Parse(time.RFC3339Nano, v)
		}
		if tm.IsZero() {
			return "—"
		}
		return tm.In(shanghai).Format("2006-01-02 15:04:05")
	},
	"pct":   func(f float64) string { return fmt.Sprintf("%.0f%%", f) },
	"minus": func(a, b int) int { return a - b },
	"dict":  func() map[string]string { return map[string]string{} },
	"list":  func(s ...string) []string { return s },
	"done":  func(c receipts.Counts) int { return c[receipts.Done] },
	"join":  strings.Join,
	"deref": func(p *int32) string {
		if p == nil {
			return "—"
		}
		return fmt.Sprint(*p)
	},
}

// shanghai is the township's time, for what the console shows.
var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()

// parsePages parses each templates/<name>.html with the layout and the shared partials.
func parsePages() (map[string]*page, error) {
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*page{}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if strings.HasPrefix(base, "part-") {
			continue // layout and partials
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(assets, "templates/part-*.html", n)
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", n, err)
		}
		pages[base] = &page{t: t}
	}
	return pages, nil
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, name string, u user, data any) {
	c.renderStatus(w, r, http.StatusOK, name, u, data)
}

// renderStatus renders page name with the layout, or only its "content" for a script that
// asks for a part (the live report).
func (c *Console) renderStatus(w http.ResponseWriter, r *http.Request, code int, name string, u user, data any) {
	c.renderTemplate(w, code, name, "layout", u, data)
}

func (c *Console) renderTemplate(w http.ResponseWriter, code int, name, tmpl string, u user, data any) {
	p, ok := c.pages[name]
	if !ok {
		http.Error(w, "no page "+name, http.StatusInternalServerError)
		return
	}
	v := view{User: u, Page: name, Data: data}
	if u.token != "" {
		v.CSRF = c.csrfToken(u.token)
	}
	var buf bytes.Buffer
	if err := p.t.ExecuteTemplate(&buf, tmpl, v); err != nil {
		c.log.Error("console render", "page", name, "err", err)
		http.Error(w, "页面生成失败，请联系管理员", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// renderError shows a message for staff on a page of its own.
func (c *Console) renderError(w http.ResponseWriter, r *http.Request, u user, code int, msg string) {
	c.renderStatus(w, r, code, "error", u, map[string]any{"Message": msg})
}

// apiFailed shows what the API said when a page's data could not be read.
func (c *Console) apiFailed(w http.ResponseWriter, r *http.Request, u user, a answer) {
	c.renderError(w, r, u, a.Status, a.Err().Error)
}
