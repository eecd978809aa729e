package ui

import "github.com/keepsake/keepsake/app/humanize"

var errNoService = humanize.ErrNoService
