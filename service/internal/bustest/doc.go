// Package bustest runs the system pieces keepsaked talks to, for real, for
// tests: a private system bus (dbus-daemon with <type>system</type> and the
// repository's own bus policy), polkitd on that bus with the repository's
// own polkit actions, local users, and processes running as those users.
//
// Nothing here touches the machine's real bus. polkitd runs in a private
// mount namespace in which the test's actions and rules directories are
// mounted over /usr/share/polkit-1/actions and /etc/polkit-1/rules.d, so
// tests running side by side (go test runs packages in parallel) cannot see
// each other's rules, and a crashed test leaves nothing installed behind.
package bustest
