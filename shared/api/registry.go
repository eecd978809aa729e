package api

// DictKeysAnnotation is the annotation of the interface XML that lists the
// keys of an a{sv} or aa{sv} argument or property, "key:sig" separated by
// spaces. On the Job's Result property the annotation name has the
// operation appended ("….DictKeys.backup").
const DictKeysAnnotation = "io.github.keepsake.Keepsake1.DictKeys"

// Dicts maps where a dictionary appears in the interface
// ("Interface.Member.arg", or "Interface.Property.operation" for the
// Job's Result) to the struct that carries it. TestKeysMatchXML checks
// both ways: every entry against its annotation, every annotation against
// an entry. A flatpak-restore Job's Result has no fixed keys and so no
// entry: FlatpakRestoreResult converts itself (ToDict, FromDict).
var Dicts = map[string]any{
	"Manager.CreateProfile.settings":     Settings{},
	"Manager.GetStatus.profiles":         Status{},
	"Manager.GetStatus.options":          Auth{},
	"Manager.Reload.options":             Auth{},
	"Manager.CreateProfile.options":      Auth{},
	"Profile.BackupNow.options":          BackupOptions{},
	"Profile.Configure.settings":         Settings{},
	"Profile.Configure.options":          Auth{},
	"Profile.AddSource.options":          Auth{},
	"Profile.RemoveSource.options":       Auth{},
	"Profile.Delete.options":             Auth{},
	"Manager.GetRemoteKey.options":       RemoteKeyOptions{},
	"Profile.ScanHostKeys.keys":          HostKey{},
	"Profile.ScanHostKeys.options":       Auth{},
	"Profile.AcceptHostKey.options":      Auth{},
	"Profile.ListSnapshots.options":      ListOptions{},
	"Profile.ListSnapshots.snapshots":    Snapshot{},
	"Profile.ListDirectory.options":      ListOptions{},
	"Profile.ListDirectory.entries":      Entry{},
	"Profile.Search.options":             SearchOptions{},
	"Profile.Search.hits":                SearchHit{},
	"Profile.Versions.options":           ListOptions{},
	"Profile.Versions.versions":          Version{},
	"Profile.Deleted.options":            DeletedOptions{},
	"Profile.Deleted.files":              DeletedFile{},
	"Profile.Restore.options":            RestoreOptions{},
	"Profile.Prune.options":              PruneOptions{},
	"Profile.Verify.options":             VerifyOptions{},
	"Profile.ListFlatpaks.options":       ListOptions{},
	"Profile.ListFlatpaks.apps":          FlatpakRef{},
	"Profile.RestoreFlatpaks.options":    FlatpakRestoreOptions{},
	"Profile.RestoreAppData.options":     AppDataOptions{},
	"Profile.FlatpakOfflineSize.options": Auth{},
	"Drive.Unmount.options":              Auth{},
	"Job.Cancel.options":                 Auth{},
	"Job.Result.backup":                  BackupResult{},
	"Job.Result.restore":                 RestoreResult{},
	"Job.Result.app-data-restore":        RestoreResult{},
	"Job.Result.prune":                   PruneResult{},
	"Job.Result.verify":                  VerifyResult{},
	"Manager.DescribeDevice.options":     Auth{},
	"Manager.DescribeDevice.device_info": DeviceInfo{},
	"Manager.PrepareDrive.options":       PrepareOptions{},
	"Job.Result.prepare-drive":           PrepareResult{},
	"Drive.Unlock.options":               UnlockOptions{},
	"Drive.Lock.options":                 Auth{},
	"Drive.ChangePassphrase.options":     ChangePassphraseOptions{},
	"Drive.ForgetKey.options":            Auth{},
	"Drive.EnrollEncrypted.options":      EnrollEncryptedOptions{},
}
