package core

import "encoding/base64"

func ioReadAll(t string, padded bool) ([]byte, error) {
	if padded {
		return base64.StdEncoding.DecodeString(t)
	}
	return base64.RawStdEncoding.DecodeString(t)
}
