package cascade

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

// MaxXMLBytes bounds one message or signature file.
const MaxXMLBytes = 1 << 20

// unknown catches elements a struct does not name (`xml:",any"`): strict parsing refuses them
// rather than drop what an upper platform meant.
type unknown struct {
	XMLName xml.Name
}

func refuseUnknown(where string, u []unknown) error {
	if len(u) > 0 {
		return fmt.Errorf("%s: unexpected element <%s>", where, u[0].XMLName.Local)
	}
	return nil
}

// decodeStrict decodes exactly one root element named root into v: UTF-8 only, no DTD, nothing
// but comments and white space after it.
func decodeStrict(b []byte, root string, v any) error {
	if len(b) > MaxXMLBytes {
		return fmt.Errorf("%d bytes, limit %d", len(b), MaxXMLBytes)
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.CharsetReader = func(label string, _ io.Reader) (io.Reader, error) {
		return nil, fmt.Errorf("encoding %q: only UTF-8 is accepted", label)
	}
	for {
		tok, err := d.Token()
		if err != nil {
			return fmt.Errorf("no <%s> element: %w", root, err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return errors.New("DTD or other directive not accepted")
		case xml.StartElement:
			if t.Name.Local != root {
				return fmt.Errorf("root element <%s>, want <%s>", t.Name.Local, root)
			}
			if err := d.DecodeElement(v, &t); err != nil {
				return err
			}
			return expectEnd(d)
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return errors.New("text before the root element")
			}
		}
	}
}

func expectEnd(d *xml.Decoder) error {
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return errors.New("text after the root element")
			}
		case xml.Comment, xml.ProcInst:
		default:
			return errors.New("content after the root element")
		}
	}
}

// encodeXML writes v with the XML declaration, indented: the form golden files hold.
func encodeXML(v any) ([]byte, error) {
	b, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}
