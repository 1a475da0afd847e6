package logintest

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
)

var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]+)">`)
	formField  = regexp.MustCompile(`name="([^"]+)" value="([^"]*)"`)
)

// Browse does what a person's browser does with the sign-in address an
// interactive sign-in opens: it loads the fake's sign-in page, which signs
// the user in at once, and follows it back to the application's redirect
// URI, posting the form as the page's script would. Tests put a program
// that calls it on PATH as xdg-open.
func Browse(client *http.Client, signInURL string) error {
	resp, err := client.Get(signInURL)
	if err != nil {
		return err
	}
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	form := formAction.FindSubmatch(page)
	if form == nil {
		return nil // the sign-in page redirected already
	}
	fields := url.Values{}
	for _, m := range formField.FindAllSubmatch(page, -1) {
		fields.Set(string(m[1]), html.UnescapeString(string(m[2])))
	}
	resp, err = client.PostForm(html.UnescapeString(string(form[1])), fields)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}
