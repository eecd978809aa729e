package daemon

import (
	"testing"

	"github.com/keepsake/keepsake/shared/dbusapi"
)

// The Go handlers export exactly the methods the XML declares, with the
// XML's signatures: godbus would export any other method too.
func TestHandlersMatchXML(t *testing.T) {
	for _, tc := range []struct {
		iface   string
		handler any
	}{
		{dbusapi.ManagerInterface, &managerHandler{}},
		{dbusapi.ProfileInterface, &profileHandler{}},
		{dbusapi.DriveInterface, &driveHandler{}},
		{dbusapi.JobInterface, &jobHandler{}},
	} {
		t.Run(tc.iface, func(t *testing.T) {
			if err := dbusapi.CheckMethods(dbusapi.MustInterface(tc.iface), tc.handler); err != nil {
				t.Error(err)
			}
		})
	}
}
