// Cancel page: static text; only the site header is filled in.
import { mountHeader } from '/app.js';

mountHeader(null);
