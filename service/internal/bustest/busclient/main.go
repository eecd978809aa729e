// Command busclient is a minimal D-Bus client for bustest: it connects to the
// system bus (DBUS_SYSTEM_BUS_ADDRESS, or DBUS_STARTER_ADDRESS when the bus
// started it), optionally takes a well-known name, prints its unique name
// and stays connected until its stdin closes or the bus goes away. Tests run
// it as other users to get a real caller whose bus name they can check, and
// as an activated "service" (-own NAME -stay) to test activation files.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/godbus/dbus/v5"
)

func main() {
	own := flag.String("own", "", "request this well-known name")
	stay := flag.Bool("stay", false, "ignore stdin: stay as long as the bus (for activation, where stdin is /dev/null)")
	flag.Parse()

	addr := os.Getenv("DBUS_STARTER_ADDRESS")
	if addr == "" {
		addr = os.Getenv("DBUS_SYSTEM_BUS_ADDRESS")
	}
	if addr == "" {
		fmt.Fprintln(os.Stderr, "busclient: no bus address")
		os.Exit(2)
	}
	conn, err := dbus.Connect(addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "busclient: connect:", err)
		os.Exit(1)
	}
	if *own != "" {
		reply, err := conn.RequestName(*own, dbus.NameFlagDoNotQueue)
		if err != nil {
			fmt.Fprintln(os.Stderr, "busclient: request name:", err)
			os.Exit(1)
		}
		if reply != dbus.RequestNameReplyPrimaryOwner {
			fmt.Fprintln(os.Stderr, "busclient: name already taken:", *own)
			os.Exit(1)
		}
	}
	// One line, flushed at once: the test reads it through a pipe.
	w := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(w, conn.Names()[0])
	w.Flush()

	stdinClosed := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(stdinClosed)
	}()
	if *stay {
		<-conn.Context().Done()
		return
	}
	select {
	case <-stdinClosed:
	case <-conn.Context().Done():
	}
}
