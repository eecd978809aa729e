// Command keepsaked is Keepsake's system service: it owns
// io.github.keepsake.Keepsake1 on the system bus (see service/daemon).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/keepsake/keepsake/service/daemon"
	"github.com/keepsake/keepsake/service/engine"
	"github.com/keepsake/keepsake/shared/kerr"
	"github.com/keepsake/keepsake/shared/version"
	"golang.org/x/sys/unix"
)

func main() {
	engine.LimitMemory()
	opts := daemon.Options{Version: version.Version}
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.StringVar(&opts.ConfigPath, "config", "/etc/keepsake/keepsake.conf", "configuration file")
	flag.StringVar(&opts.StateDir, "state-dir", "/var/lib/keepsake", "state directory (change journal, job history)")
	flag.StringVar(&opts.RunDir, "run-dir", "/run/keepsake", "runtime directory (status files, mount points)")
	flag.StringVar(&opts.Host, "host", "", "host name for snapshots (default: this machine's)")
	flag.DurationVar(&opts.BrowseLinger, "browse-linger", time.Minute, "keep a drive mounted this long after browsing it")
	flag.IntVar(&opts.MaxWatches, "max-watches", 0, "at most this many folders watched per profile (0: the kernel's limit); beyond it, periodic full scans")
	flag.DurationVar(&opts.RemoteProbe, "remote-probe", 2*time.Minute, "try a due other computer that did not answer again after this long")
	flag.DurationVar(&opts.Tick, "tick", 5*time.Second, "look at schedules this often")
	flag.Parse()
	if *showVersion {
		fmt.Println("keepsaked", version.Version)
		return
	}
	// A FLATPAK_SYSTEM_DIR in the service's environment (tests, unusual
	// systems) is where the system installation is.
	if v, ok := os.LookupEnv("FLATPAK_SYSTEM_DIR"); ok {
		opts.FlatpakEnv = append(opts.FlatpakEnv, "FLATPAK_SYSTEM_DIR="+v)
	}
	logger := log.New(os.Stderr, "", 0)
	opts.Logf = logger.Printf

	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "keepsaked: must run as root (it reads every backed-up folder and mounts drives)")
		os.Exit(1)
	}
	d, err := daemon.New(opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "keepsaked: %s: %v\n", kerr.NameOf(err), err)
		os.Exit(1)
	}
	defer d.Close()
	ctx, stop := signal.NotifyContext(context.Background(), unix.SIGTERM, unix.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, unix.SIGHUP)
	go func() {
		for range hup {
			if err := d.Reload(); err == nil {
				logger.Printf("configuration reloaded")
			}
		}
	}()
	logger.Printf("keepsaked %s ready", version.Version)
	if err := d.Run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "keepsaked: %v\n", err)
		os.Exit(1)
	}
}
