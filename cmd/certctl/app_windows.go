//go:build windows

package main

// On Windows the store is the CurrentUser system store, which has no folder:
// a store folder only gets an error from certstore.Open, and the help says
// so.
func init() {
	storeDirFlag.Usage = "not used on Windows, where the stores are the CurrentUser system stores (certmgr.msc)"
}
