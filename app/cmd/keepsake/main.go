// Command keepsake is the Keepsake desktop app.
package main

import (
	"os"

	"github.com/keepsake/keepsake/app/application"
	"github.com/keepsake/keepsake/shared/i18n"
)

func main() {
	i18n.Init()
	opts, gtkArgs := application.ParseArgs(os.Args)
	os.Exit(application.Run(opts, gtkArgs))
}
