// Package tray is Keepsake's tray icon: a StatusNotifierItem with a menu
// (state, Back Up Now, Open, Quit), spoken in pure Go over D-Bus, so it
// needs no GTK 3 and works wherever a tray host runs (KDE, the GNOME
// AppIndicator extension, Xfce). Without a host it stays silent.
package tray
