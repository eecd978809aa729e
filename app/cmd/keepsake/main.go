// Command keepsake is the Keepsake desktop app.
package main

import (
	"os"

	"github.com/keepsake/keepsake/app/application"
)

func main() {
	opts, gtkArgs := application.ParseArgs(os.Args)
	os.Exit(application.Run(opts, gtkArgs))
}
