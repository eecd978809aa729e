package ui

import "github.com/keepsake/keepsake/shared/kerr"

var errNoService = kerr.New(kerr.NotFound, "")
