package login

import (
	"encoding/base64"
	"encoding/json"
)

func decodeRaw(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

func decodeSegment(s string, v any) error {
	b, err := decodeRaw(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
