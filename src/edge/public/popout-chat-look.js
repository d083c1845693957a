// The popout chat's look, set before the first paint (a classic script in <head>, not a module, which would
// run only after the page is parsed): `?transparent=1` makes the page see-through, for an overlay in OBS.
if (new URLSearchParams(location.search).get('transparent') === '1') {
  document.documentElement.classList.add('transparent');
}
