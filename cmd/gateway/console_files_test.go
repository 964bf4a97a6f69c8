package main

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleFilesInBrowser: in a real Chromium, an administrator opens a
// gym, uploads a photo through the console's form, sees its thumbnail
// (fetched with the token, shown from a blob: URL the page's policy
// allows), and removes it.
func TestConsoleFilesInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser")
	}
	const dba, dbaPass = "files_dba", "a first long password"
	g := MustRun(t, fastConfig(t, map[string]string{
		"GATEWAY_BOOTSTRAP_USER": dba, "GATEWAY_BOOTSTRAP_PASSWORD": dbaPass,
		"GATEWAY_RESOURCES_FILE": "../../gateway/testdata/files_resources.json",
		"GATEWAY_POLICY_FILE":    "../../gateway/testdata/files_policy.csv",
	}))
	photo := filepath.Join(t.TempDir(), "court.png")
	img := image.NewRGBA(image.Rect(0, 0, 400, 260))
	for y := range 260 {
		for x := range 400 {
			img.Set(x, y, color.RGBA{uint8(x / 2), uint8(y), 180, 255})
		}
	}
	f, err := os.Create(photo)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()

	b := newBrowser(t, g.url)
	b.open("/console/")
	b.typeInto("#username", dba)
	b.typeInto("#password", dbaPass)
	b.click("Sign in")
	b.waitText("#who", dba)
	b.open("/console/#/resources/gym")
	b.click("New gym")
	b.typeInto("#f-name", "Photo Court")
	b.click("Create")
	b.waitText("#notice", "created")
	b.clickCell("Photo Court")
	b.waitText(`.files[data-field="photos"]`, "No file.")
	b.do(chromedp.SetUploadFiles(`input[aria-label="Files for photos"]`, []string{photo}))
	b.click("Upload to photos")
	b.waitText("#notice", "uploaded to photos")
	drawn, err := chromedp.Run(b.ctx, chromedp.Poll[bool](`(() => { const i = document.querySelector(".file .thumb");
		return !!i && i.src.startsWith("blob:") && i.complete && i.naturalWidth > 0 && i.naturalWidth <= 100; })()`, chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil || !drawn {
		t.Fatalf("the thumbnail is not shown: %v", err)
	}
	b.shot("files")
	b.click("Remove")
	b.waitText("#notice", "removed")
	b.waitText(`.files[data-field="photos"]`, "No file.")
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.problems) > 0 {
		t.Errorf("the pages reported: %v", b.problems)
	}
}
