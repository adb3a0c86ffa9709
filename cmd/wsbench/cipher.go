package main

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// aesKey is the results key of the cipher measurement.
const aesKey = "aes"

// gcmRecord is the size of the records the cipher measurements protect:
// full TLS records.
const gcmRecord = 16 << 10

// sealCost measures what TLS 1.3's record protection costs on this machine
// by itself: CPU seconds per GB sealed with AES-128-GCM (the suite Go's
// crypto/tls picks with AES hardware) in full 16 KiB records, on one
// thread. Every wss:// byte pays it on top of what the same byte costs
// over ws://, so it bounds how close wss:// can come to ws://.
func sealCost(n int64) (float64, error) {
	return gcmCost(n, func(aead cipher.AEAD, nonce []byte) func() error {
		plain := make([]byte, gcmRecord)
		out := make([]byte, 0, gcmRecord+aead.Overhead())
		return func() error {
			nonce[0]++
			out = aead.Seal(out[:0], nonce, plain, nil)
			return nil
		}
	})
}

// openCost is sealCost's other direction: CPU seconds per GB opened
// (decrypted and authenticated) with AES-128-GCM in 16 KiB records, on one
// thread, the cost of every wss:// byte from the client.
func openCost(n int64) (float64, error) {
	return gcmCost(n, func(aead cipher.AEAD, nonce []byte) func() error {
		sealed := aead.Seal(nil, nonce, make([]byte, gcmRecord), nil)
		plain := make([]byte, 0, gcmRecord)
		return func() error {
			_, err := aead.Open(plain[:0], nonce, sealed, nil)
			return err
		}
	})
}

// gcmCost runs the record operation that prepare returns, for an
// AES-128-GCM AEAD and a zero nonce, once per 16 KiB record of n bytes on
// one locked thread, and returns that thread's CPU seconds per GB.
func gcmCost(n int64, prepare func(aead cipher.AEAD, nonce []byte) func() error) (float64, error) {
	block, err := aes.NewCipher(make([]byte, 16))
	if err != nil {
		return 0, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return 0, err
	}
	op := prepare(aead, make([]byte, aead.NonceSize()))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0, err := threadCPU()
	if err != nil {
		return 0, err
	}
	for done := int64(0); done < n; done += gcmRecord {
		if err := op(); err != nil {
			return 0, err
		}
	}
	t1, err := threadCPU()
	if err != nil {
		return 0, err
	}
	return (t1 - t0).Seconds() / (float64(n) / 1e9), nil
}

func threadCPU() (time.Duration, error) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
