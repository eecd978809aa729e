// Package apps is the app's Flatpak page: the apps a backup recorded,
// per installation, beside what is installed now (missing, older, newer),
// with Reinstall Selected / Reinstall All Missing and a per-app result,
// and Roll Back Data… of one app's ~/.var/app folder.
package apps
