// go-verify checks and makes detached OpenPGP signatures with
// github.com/ProtonMail/go-crypto/openpgp, the library under GopenPGP, which
// elastic-package uses to sign and verify packages. The Rust interop tests
// (../gpg_interop.rs) run it to show that both sides accept each other's files.
//
// Usage:
//
//	go-verify verify KEYRING DATA SIGNATURE
//	    prints the signer's fingerprint (uppercase hex); exit 0 good, 1 bad, 2 usage or I/O
//	go-verify sign SECRETKEY DATA
//	    writes an armored detached signature of DATA to stdout (unprotected keys only)
package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
)

func main() {
	if len(os.Args) == 5 && os.Args[1] == "verify" {
		os.Exit(verify(os.Args[2], os.Args[3], os.Args[4]))
	}
	if len(os.Args) == 4 && os.Args[1] == "sign" {
		os.Exit(sign(os.Args[2], os.Args[3]))
	}
	fmt.Fprintln(os.Stderr, "usage: go-verify verify KEYRING DATA SIGNATURE | go-verify sign SECRETKEY DATA")
	os.Exit(2)
}

func readKeyring(path string) (openpgp.EntityList, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	return openpgp.ReadArmoredKeyRing(file)
}

func verify(keyringPath, dataPath, signaturePath string) int {
	keyring, err := readKeyring(keyringPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "keyring %s: %v\n", keyringPath, err)
		return 2
	}
	data, err := os.ReadFile(dataPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	signature, err := os.ReadFile(signaturePath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	signer, err := openpgp.CheckArmoredDetachedSignature(
		keyring, bytes.NewReader(data), bytes.NewReader(signature), nil)
	if err != nil {
		fmt.Fprintf(os.Stderr, "signature verification failed: %v\n", err)
		return 1
	}
	fmt.Println(strings.ToUpper(fmt.Sprintf("%x", signer.PrimaryKey.Fingerprint)))
	return 0
}

func sign(secretKeyPath, dataPath string) int {
	keyring, err := readKeyring(secretKeyPath)
	if err != nil || len(keyring) != 1 || keyring[0].PrivateKey == nil {
		fmt.Fprintf(os.Stderr, "%s: one armored secret key expected (%v)\n", secretKeyPath, err)
		return 2
	}
	data, err := os.ReadFile(dataPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := openpgp.ArmoredDetachSign(os.Stdout, keyring[0], bytes.NewReader(data), nil); err != nil {
		fmt.Fprintf(os.Stderr, "signing failed: %v\n", err)
		return 1
	}
	fmt.Println()
	return 0
}
