package main

import (
	"errors"

	"github.com/websockify-go/websockify/options"
)

func runRebind(rb *options.Rebind) error {
	return errors.New("rebind is not supported yet")
}
