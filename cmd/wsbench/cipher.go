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

// sealCost measures what TLS 1.3's record protection costs on this machine
// by itself: CPU seconds per GB sealed with AES-128-GCM (the suite Go's
// crypto/tls picks with AES hardware) in full 16 KiB records, on one
// thread. Every wss:// byte pays it on top of what the same byte costs
// over ws://, so it bounds how close wss:// can come to ws://.
func sealCost(n int64) (float64, error) {
	block, err := aes.NewCipher(make([]byte, 16))
	if err != nil {
		return 0, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return 0, err
	}
	const record = 16 << 10
	plain := make([]byte, record)
	out := make([]byte, 0, record+aead.Overhead())
	nonce := make([]byte, aead.NonceSize())
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0, err := threadCPU()
	if err != nil {
		return 0, err
	}
	for done := int64(0); done < n; done += record {
		nonce[0]++
		out = aead.Seal(out[:0], nonce, plain, nil)
	}
	t1, err := threadCPU()
	if err != nil {
		return 0, err
	}
	return (t1 - t0).Seconds() / (float64(n) / 1e9), nil
}

// openCost is sealCost's other direction: CPU seconds per GB opened
// (decrypted and authenticated) with AES-128-GCM in 16 KiB records, on one
// thread, the cost of every wss:// byte from the client.
func openCost(n int64) (float64, error) {
	block, err := aes.NewCipher(make([]byte, 16))
	if err != nil {
		return 0, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return 0, err
	}
	const record = 16 << 10
	nonce := make([]byte, aead.NonceSize())
	sealed := aead.Seal(nil, nonce, make([]byte, record), nil)
	plain := make([]byte, 0, record)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0, err := threadCPU()
	if err != nil {
		return 0, err
	}
	for done := int64(0); done < n; done += record {
		if _, err := aead.Open(plain[:0], nonce, sealed, nil); err != nil {
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
