// The agent desk: a live queue of escalations (views, search) and the conversation of the
// chosen one (brief, notes, history, ready-made replies), alerts, keyboard shortcuts, the
// review of what the bot missed and, for admins, agents and the team's replies.
// Plain JavaScript, no build step. Every text that comes from the API (customers' words
// above all) is put in the page with textContent, never parsed as HTML.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const me = document.querySelector('meta[name="desk-agent"]').content;
  const admin = document.querySelector('meta[name="desk-role"]').content === "admin";
  const labels = JSON.parse($("intent-labels").textContent);

  const CHANNELS = { messenger: "Messenger", twitter: "X", local: "Essai local" };
  const REASONS = {
    asked_for_human: "a demandé à parler à un conseiller",
    not_solved: "la réponse de l'assistant n'a pas résolu le problème",
    not_understood: "l'assistant n'a pas compris la demande",
    unreadable_attachment: "pièce jointe que l'assistant ne sait pas lire",
    answered_natively: "une personne a répondu directement depuis l'application",
    other_topic: "question sur un autre sujet que le compte",
    hacked: "compte piraté",
    phishing: "e-mail suspect (hameçonnage)",
    payment: "fraude ou litige de paiement",
    legal: "demande juridique ou sur ses données",
    distress: "détresse ou menaces : en priorité",
  };
  const AUTHORS = {
    customer: "Client",
    bot: "Assistant",
    agent: "Conseiller",
    native: "Réponse directe",
    system: "Système",
  };
  const DELIVERY = {
    pending: "en attente d'envoi",
    sending: "envoi en cours",
    sent: "envoyé",
    failed: "échec de l'envoi",
    dropped: "non envoyé",
  };
  const FACTS = {
    email_domain: "Domaine de l'adresse e-mail",
    days: "Nombre de jours indiqué",
    business_account: "Compte professionnel",
  };
  const EVENTS = ["escalation", "message", "claimed", "resolved", "reply", "customer", "note",
    "released", "transferred", "replies"];

  const queueList = $("queue");
  const transcript = $("transcript");
  const replyBox = $("reply");
  const sendButton = $("send");
  const claimButton = $("claim");
  const resolveButton = $("resolve");

  let queue = []; // the escalations of the view, as last fetched
  let waitingCount = 0; // open ones, for the title badge whatever the view
  let queueAt = 0; // when (ms) they were fetched: waiting times grow from there
  let current = null; // the chosen escalation with its brief and transcript
  let currentAt = 0;
  let selectedId = null;
  let queueSeq = 0;
  let detailSeq = 0;
  const unread = new Set(); // escalations with a customer message not yet looked at
  const rendered = new Map(); // transcript entry id -> its <li>, for the shown escalation
  let renderedFor = null;

  // -- words -------------------------------------------------------------------------

  function duration(seconds, precise) {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return "moins d'une minute";
    const minutes = Math.floor(s / 60);
    if (minutes < 60) return minutes + " min";
    const hours = Math.floor(minutes / 60);
    if (hours < 48) {
      const rest = minutes % 60;
      return precise && hours < 10 && rest ? hours + " h " + String(rest).padStart(2, "0") : hours + " h";
    }
    return Math.floor(hours / 24) + " j";
  }

  function intentLabel(intent) {
    if (!intent || intent === "none") return "aucun problème reconnu";
    return labels[intent] || intent;
  }

  function reasonText(reason) {
    return REASONS[reason] || reason || "raison inconnue";
  }

  function customerName(item) {
    const customer = item.customer || {};
    return item.customer_label || customer.name || customer.id || "client inconnu";
  }

  function channelName(channel) {
    return CHANNELS[channel] || channel;
  }

  function windowText(win, elapsed) {
    if (!win || win.kind === "none") return { text: "pas de délai imposé par ce canal", closed: false };
    if (win.kind === "closed") return { text: "fenêtre fermée", closed: true };
    const left = win.remaining_seconds == null ? null : win.remaining_seconds - elapsed;
    const rest = left == null ? "" : " encore " + duration(left, false);
    if (win.kind === "response") return { text: "réponse normale" + rest, closed: false };
    if (win.kind === "human_agent") return { text: "balise HUMAN_AGENT" + rest, closed: false };
    return { text: win.kind, closed: false };
  }

  function clock(epochSeconds) {
    if (epochSeconds == null) return "";
    const date = new Date(epochSeconds * 1000);
    const sameDay = date.toDateString() === new Date().toDateString();
    const time = date.toLocaleTimeString("fr-FR", { hour: "2-digit", minute: "2-digit" });
    return sameDay ? time : date.toLocaleDateString("fr-FR", { day: "numeric", month: "short" }) + " " + time;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  // -- talking to the API ------------------------------------------------------------------

  async function api(method, path, body) {
    const init = {
      method,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": csrf },
    };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    if (response.status === 401) {
      location.assign("/desk"); // signed out or token revoked: back to the sign-in form
      throw new Error("Session expirée.");
    }
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    if (!response.ok) {
      const problem = new Error((data && data.error) || "erreur " + response.status);
      problem.status = response.status;
      problem.unanswered = Boolean(data && data.unanswered);
      throw problem;
    }
    return data;
  }

  let toastTimer = null;
  function toast(message) {
    const box = $("toast");
    box.textContent = message;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.hidden = true; }, 8000);
  }

  function announce(message) {
    $("announce").textContent = message;
  }

  // -- the queue -----------------------------------------------------------------------

  let view = "all";
  let searchText = "";

  async function refreshQueue() {
    const seq = ++queueSeq;
    let items;
    const q = searchText ? "&q=" + encodeURIComponent(searchText) : "";
    if (searchText) {
      const status = view === "resolved" ? "resolved" : view === "unassigned" ? "open" : view === "mine" ? "claimed" : "";
      const found = await api("GET", "/api/escalations?limit=100" + (status ? "&status=" + status : "") + q + (view === "mine" ? "&agent=" + encodeURIComponent(me) : ""));
      items = found.escalations;
    } else if (view === "resolved") {
      items = (await api("GET", "/api/escalations?status=resolved&limit=100")).escalations;
    } else if (view === "mine") {
      items = (await api("GET", "/api/escalations?status=claimed&agent=" + encodeURIComponent(me))).escalations;
    } else if (view === "unassigned") {
      items = (await api("GET", "/api/escalations?status=open")).escalations;
    } else {
      const [open, claimed] = await Promise.all([
        api("GET", "/api/escalations?status=open"),
        api("GET", "/api/escalations?status=claimed"),
      ]);
      items = open.escalations.concat(claimed.escalations);
      items.sort((a, b) => (a.status === b.status ? a.created_at - b.created_at : a.status === "open" ? -1 : 1));
    }
    if (seq !== queueSeq) return; // a newer answer is on its way
    const before = new Set(queue.filter((i) => i.status === "open").map((i) => i.id));
    queue = items;
    queueAt = Date.now();
    renderQueue();
    const fresh = queue.filter((i) => i.status === "open" && !before.has(i.id));
    if (queueLoaded && fresh.length && !searchText) alert("Nouvelle demande : " + customerName(fresh[0]));
    queueLoaded = true;
  }
  let queueLoaded = false;

  function renderQueue() {
    const focused = document.activeElement && document.activeElement.closest("#queue") ? document.activeElement.dataset.id : null;
    const elapsed = (Date.now() - queueAt) / 1000;
    const items = queue.map((item) => {
      const li = el("li");
      const button = el("button", item.status === "claimed" ? "claimed" : "");
      button.type = "button";
      button.dataset.id = String(item.id);
      if (item.id === selectedId) button.setAttribute("aria-current", "true");
      const who = el("span", "who");
      const icon = el("span", "channel " + item.channel, channelName(item.channel));
      who.append(icon, document.createTextNode(customerName(item)));
      if (unread.has(item.id)) who.append(el("span", "visually-hidden", " (nouveau message)"), el("span", "unread", " ●"));
      button.append(who);
      const wait = item.waiting_seconds != null
        ? duration(item.waiting_seconds + elapsed, true)
        : item.status === "resolved" ? clock(item.resolved_at) : "depuis " + clock(item.claimed_at || item.created_at);
      button.append(el("span", "wait", wait));
      button.append(el("span", "reason", reasonText(item.reason)));
      let state = "En attente d'un conseiller";
      if (item.status === "resolved") state = "Rendue à l'assistant";
      else if (item.status === "claimed") state = item.agent === me ? "Vous vous en occupez" : "Pris en charge par " + item.agent;
      button.append(el("span", "state" + (item.agent === me ? " mine" : ""), state));
      button.addEventListener("click", () => select(item.id));
      li.append(button);
      return li;
    });
    queueList.replaceChildren(...items);
    const open = queue.filter((item) => item.status === "open").length;
    $("queue-count").textContent = queue.length ? "(" + open + " en attente, " + (queue.length - open) + " pris en charge)" : "";
    $("queue-empty").hidden = queue.length > 0;
    $("queue-empty").textContent = searchText ? "Aucune conversation ne correspond à cette recherche." : view === "resolved" ? "Aucune conversation résolue." : "Aucune demande en attente.";
    const waiting = view === "all" && !searchText ? open : waitingCount;
    document.title = (waiting ? "(" + waiting + ") " : "") + "Bureau des conseillers — Assistant Parallels";
    if (focused) {
      const again = queueList.querySelector('button[data-id="' + CSS.escape(focused) + '"]');
      if (again) again.focus();
    }
  }

  // -- the chosen escalation -----------------------------------------------------------------

  async function select(id) {
    if (id !== selectedId) historyFor = null;
    selectedId = id;
    unread.delete(id);
    history.replaceState(null, "", "#" + id);
    renderQueue();
    await refreshDetail();
  }

  async function refreshDetail() {
    if (selectedId == null) return;
    const seq = ++detailSeq;
    let data;
    try {
      data = await api("GET", "/api/escalations/" + encodeURIComponent(selectedId));
    } catch (problem) {
      if (problem.status === 404) {
        selectedId = null;
        current = null;
        $("detail-body").hidden = true;
        $("detail-empty").hidden = false;
        return;
      }
      throw problem;
    }
    if (seq !== detailSeq) return;
    current = data;
    currentAt = Date.now();
    renderDetail();
  }

  function renderDetail() {
    if (!current) return;
    $("detail-empty").hidden = true;
    $("detail-body").hidden = false;
    $("detail-title").textContent = "Conversation avec " + customerName(current) + " (" + channelName(current.channel) + ")";
    renderBrief();
    renderActions();
    renderTranscript();
    renderNotes();
    renderHistory();
  }

  function renderNotes() {
    const items = (current.notes || []).map((note) => {
      const li = el("li");
      li.append(el("span", "meta", note.agent + " · " + clock(note.created_at)), el("p", "text", note.text));
      return li;
    });
    if (!items.length) items.push(el("li", "empty", "Aucune note."));
    $("notes").replaceChildren(...items);
  }

  let historyFor = null;
  async function renderHistory() {
    const key = current.channel + "/" + current.customer.id;
    if (historyFor === key) return;
    historyFor = key;
    let data;
    try {
      data = await api("GET", "/api/customers/" + encodeURIComponent(current.channel) + "/" + encodeURIComponent(current.customer.id));
    } catch (_) {
      return;
    }
    const items = data.escalations.filter((e) => e.id !== current.id).map((e) => {
      const li = el("li");
      const button = el("button", "link", clock(e.created_at) + " — " + reasonText(e.reason) + " — " + (e.status === "resolved" ? "résolue" : "en cours"));
      button.type = "button";
      button.addEventListener("click", () => select(e.id));
      li.append(button);
      return li;
    });
    if (!items.length) items.push(el("li", "empty", "Aucune autre conversation avec ce client."));
    $("history").replaceChildren(...items);
  }

  function renderBrief() {
    const brief = current.brief || {};
    const elapsed = (Date.now() - currentAt) / 1000;
    const rows = [];
    const row = (term, ...details) => {
      const dd = el("dd");
      dd.append(...details);
      rows.push(el("dt", "", term), dd);
    };
    const text = (value) => document.createTextNode(value);
    const customer = current.customer || {};
    row("Client", text(customerName(current) + " — " + channelName(current.channel) + ", identifiant " + (customer.id || "?")));
    row("Ce qui s'est passé", text("Le client " + (brief.summary || reasonText(current.reason))));
    if (brief.problem) row("Problème", text(brief.problem));
    const answered = brief.answered_names || [];
    if (answered.length) {
      const list = el("ul");
      for (const done of answered) list.append(el("li", "", done));
      row("Déjà répondu par l'assistant", list);
    } else {
      row("Déjà répondu par l'assistant", text("rien pour l'instant"));
    }
    const told = brief.told || Object.entries(brief.facts || {}).map(([k, v]) => ({ label: FACTS[k] || k, value: v }));
    if (told.length) {
      const list = el("ul");
      for (const fact of told) list.append(el("li", "", fact.label + " : " + fact.value));
      row("Ce que le client a indiqué", list);
    } else {
      row("Ce que le client a indiqué", text("rien de particulier (voir les échanges)"));
    }
    const waiting = brief.waiting_seconds != null ? brief.waiting_seconds : current.waiting_seconds;
    if (current.status !== "resolved") {
      row("Dernier message du client", el("span", brief.unanswered ? "unanswered" : "", brief.unanswered
        ? "sans réponse d'une personne depuis " + duration((waiting || 0) + elapsed, true)
        : "une personne y a répondu"));
    }
    const win = windowText(current.window, elapsed);
    row(current.channel === "messenger" ? "Fenêtre Messenger" : "Fenêtre de réponse", el("span", win.closed ? "closed" : "", win.text));
    $("brief").replaceChildren(...rows);
  }

  function blockedReason() {
    if (current.status === "resolved") return "Demande close : l'assistant a repris la conversation.";
    if (current.agent && current.agent !== me) return current.agent + " s'occupe de cette conversation : vous ne pouvez pas y répondre.";
    if (current.window && current.window.kind === "closed") {
      return "Fenêtre fermée : le dernier message du client date de plus de 7 jours, Messenger refuserait la réponse. Il faut attendre qu'il écrive à nouveau.";
    }
    return null;
  }

  function renderActions() {
    const mine = current.agent === me;
    let holder = "En attente d'un conseiller. Répondre la prend en charge.";
    if (current.status === "resolved") holder = "Rendue à l'assistant.";
    else if (current.status === "claimed") holder = mine ? "Vous vous en occupez." : "Pris en charge par " + current.agent + ".";
    $("holder").textContent = holder;
    claimButton.disabled = current.status !== "open";
    resolveButton.disabled = current.status === "resolved" || (current.agent != null && !mine);
    $("release").disabled = current.status !== "claimed" || !(mine || admin);
    $("transfer").disabled = current.status === "resolved" || !(mine || (admin && current.status !== "resolved"));
    $("transfer-to").disabled = $("transfer").disabled;
    const blocked = blockedReason();
    const wasFocused = document.activeElement === replyBox;
    replyBox.disabled = blocked != null;
    sendButton.disabled = blocked != null;
    $("reply-blocked").hidden = blocked == null;
    $("reply-blocked").textContent = blocked || "";
    if (wasFocused && !replyBox.disabled) replyBox.focus();
  }

  function renderTranscript() {
    if (renderedFor !== current.id) {
      rendered.clear();
      transcript.replaceChildren();
      renderedFor = current.id;
    }
    const atBottom = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 40;
    for (const entry of current.transcript || []) {
      let li = rendered.get(entry.id);
      if (!li) {
        li = el("li", AUTHORS[entry.author] ? entry.author : "system");
        li.append(el("span", "meta"), el("p", "text"));
        transcript.append(li);
        rendered.set(entry.id, li);
      }
      const meta = li.querySelector(".meta");
      const author = el("strong", "", AUTHORS[entry.author] || entry.author);
      const parts = [];
      if (entry.author === "customer") parts.push(customerName(current));
      if (entry.author === "native" && entry.agent) parts.push("depuis " + entry.agent);
      if (entry.author === "agent" && entry.agent) parts.push(entry.agent === me ? entry.agent + " (vous)" : entry.agent);
      parts.push(clock(entry.created_at));
      if (entry.direction === "out" && entry.delivery) parts.push(DELIVERY[entry.delivery] || entry.delivery);
      meta.replaceChildren(author, document.createTextNode(" · " + parts.filter(Boolean).join(" · ")));
      meta.classList.toggle("failed", entry.delivery === "failed");
      const text = li.querySelector(".text");
      if (entry.text) {
        text.textContent = entry.text; // customer text: as text, never as markup
      } else {
        text.textContent = entry.attachments ? "(pièce jointe)" : "(message sans texte)";
      }
    }
    if (atBottom) transcript.scrollTop = transcript.scrollHeight;
  }

  // -- actions -----------------------------------------------------------------------

  async function act(button, path, body, failure) {
    if (!current) return false;
    button.disabled = true;
    try {
      await api("POST", "/api/escalations/" + encodeURIComponent(current.id) + path, body);
      return true;
    } catch (problem) {
      toast(failure(problem));
      return false;
    } finally {
      button.disabled = false; // the refresh below disables it again where the state says so
      await Promise.allSettled([refreshDetail(), refreshQueue()]);
    }
  }

  // After a claim, the cursor goes to the reply box, unless the agent is already typing
  // elsewhere (a note written while the claim was on its way must not land in the reply).
  function typingElsewhere() {
    const now = document.activeElement;
    return now != null && now !== replyBox && (now.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(now.tagName));
  }

  claimButton.addEventListener("click", async () => {
    const done = await act(claimButton, "/claim", undefined, (problem) =>
      problem.status === 409 ? "Un autre conseiller a déjà pris cette demande." : "Prise en charge impossible (" + problem.message + ").");
    if (done) {
      announce("Demande prise en charge.");
      if (!replyBox.disabled && !typingElsewhere()) replyBox.focus();
    }
  });

  const UNANSWERED = "Le dernier message du client est resté sans réponse. Rendre quand même la main à l'assistant ?";
  const lastSeen = () => {
    const entries = (current && current.transcript) || [];
    return entries.length ? entries[entries.length - 1].id : 0;
  };

  resolveButton.addEventListener("click", async () => {
    if (current && current.brief && current.brief.unanswered && !window.confirm(UNANSWERED)) return;
    // What the agent saw goes with the request: a customer message that arrived meanwhile
    // comes back as a 409, shown, and asked about like any unanswered message.
    let arrived = false;
    let done = await act(resolveButton, "/resolve", { seen: lastSeen() }, (problem) => {
      arrived = problem.status === 409 && problem.unanswered === true;
      if (arrived) return "Le client vient d'écrire : lisez son message avant de rendre la main.";
      return problem.status === 409 ? "Cette demande est déjà close ou tenue par quelqu'un d'autre." : "Impossible de rendre la main (" + problem.message + ").";
    });
    if (arrived && window.confirm(UNANSWERED)) {
      done = await act(resolveButton, "/resolve", { seen: lastSeen() }, (problem) => "Impossible de rendre la main (" + problem.message + ").");
    }
    if (done) announce("Conversation rendue à l'assistant.");
  });

  async function send() {
    const text = replyBox.value.trim();
    if (!text || replyBox.disabled) return;
    replyBox.disabled = true;
    const done = await act(sendButton, "/messages", { text }, (problem) => {
      if (problem.status === 400) return "Message non envoyé : il est vide ou trop long pour ce canal.";
      if (problem.status === 409) return "Message non envoyé : la demande est tenue par quelqu'un d'autre, close, ou la fenêtre du canal est fermée.";
      return "Message non envoyé (" + problem.message + ").";
    });
    replyBox.disabled = current != null && blockedReason() != null;
    if (done) {
      replyBox.value = "";
      announce("Réponse envoyée.");
    }
    // Back to the reply box after sending, unless the agent went elsewhere meanwhile.
    const now = document.activeElement;
    if (!replyBox.disabled && (now == null || now === document.body || now === sendButton)) replyBox.focus();
  }

  $("reply-form").addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });

  replyBox.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.isComposing || event.shiftKey) return;
    event.preventDefault(); // Enter and Ctrl+Enter send; Shift+Enter makes a new line
    const matches = suggestionsFor(replyBox.value);
    if (matches) {
      if (matches.length) insertReply(matches[0]); // "/" and letters: the first match
      return;
    }
    send();
  });

  // -- ready-made replies ----------------------------------------------------------------

  let replies = [];
  async function loadReplies() {
    replies = (await api("GET", "/api/replies")).replies;
    const items = replies.map((reply) => {
      const li = el("li");
      const button = el("button", "", reply.title);
      button.type = "button";
      button.title = reply.text;
      button.append(el("span", "source", reply.source === "article" ? " (article)" : " (équipe)"));
      button.addEventListener("click", () => insertReply(reply));
      li.append(button);
      return li;
    });
    $("replies").replaceChildren(...items);
    if (admin) renderTeamReplies();
  }

  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function suggestionsFor(value) {
    const typed = /^\/(\S*)$/.exec(value);
    if (!typed) return null;
    const letters = fold(typed[1]);
    // Best first: the letters in the title, then its words' initials ("mdp"), then in order.
    const rank = (title) => {
      const words = fold(title).split(/[^a-z0-9]+/).filter(Boolean);
      if (words.join(" ").includes(letters)) return 0;
      if (words.map((w) => w[0]).join("").startsWith(letters)) return 1;
      let at = 0;
      for (const c of words.join("")) if (c === letters[at]) at += 1;
      return at === letters.length ? 2 : 3;
    };
    return replies.map((r) => [rank(r.title), r]).filter(([n]) => n < 3)
      .sort((a, b) => a[0] - b[0]).map(([, r]) => r).slice(0, 6);
  }

  function renderSuggestions() {
    const matches = suggestionsFor(replyBox.value);
    const list = $("suggestions");
    list.hidden = !matches;
    if (!matches) return;
    const items = matches.map((reply) => {
      const li = el("li");
      const button = el("button", "", reply.title);
      button.type = "button";
      button.addEventListener("click", () => insertReply(reply));
      li.append(button);
      return li;
    });
    if (!items.length) items.push(el("li", "empty", "Aucune réponse prête ne correspond."));
    list.replaceChildren(...items);
  }

  function insertReply(reply) {
    if (replyBox.disabled) return;
    replyBox.value = /^\/\S*$/.test(replyBox.value) || !replyBox.value.trim() ? reply.text : replyBox.value.trimEnd() + "\n" + reply.text;
    renderSuggestions();
    replyBox.focus();
    announce("Réponse prête insérée : " + reply.title);
  }

  replyBox.addEventListener("input", renderSuggestions);

  // -- release, transfer, notes ----------------------------------------------------------

  $("release").addEventListener("click", async () => {
    const done = await act($("release"), "/release", undefined, (problem) =>
      problem.status === 409 ? "Seul le conseiller qui la tient, ou un admin, peut la remettre dans la file." : "Impossible (" + problem.message + ").");
    if (done) announce("Demande remise dans la file.");
  });

  $("transfer-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const to = $("transfer-to").value.trim();
    if (!to) return;
    const done = await act($("transfer"), "/transfer", { agent: to }, (problem) =>
      problem.status === 404 ? "Aucun conseiller ne s'appelle « " + to + " »." : problem.status === 409 ? "Seul le conseiller qui la tient, ou un admin, peut la transférer." : "Transfert impossible (" + problem.message + ").");
    if (done) {
      $("transfer-to").value = "";
      announce("Demande transférée à " + to + ".");
    }
  });

  $("note-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("note").value.trim();
    if (!text || !current) return;
    const done = await act($("note-form").querySelector("button"), "/notes", { text }, (problem) => "Note non ajoutée (" + problem.message + ").");
    if (done) {
      $("note").value = "";
      announce("Note ajoutée.");
    }
  });

  // -- views and search ------------------------------------------------------------------

  for (const button of document.querySelectorAll(".views button")) {
    button.addEventListener("click", () => {
      view = button.dataset.view;
      for (const other of document.querySelectorAll(".views button")) other.setAttribute("aria-pressed", String(other === button));
      refreshQueue().catch((problem) => toast("Chargement impossible : " + problem.message));
    });
  }

  let searchTimer = null;
  $("search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      searchText = $("search").value.trim();
      refreshQueue().catch((problem) => toast("Recherche impossible : " + problem.message));
    }, 250);
  });
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    searchText = $("search").value.trim();
    refreshQueue().catch((problem) => toast("Recherche impossible : " + problem.message));
  });

  // -- alerts: a notification, a short sound, the title's count --------------------------

  const notifySwitch = $("notify");
  notifySwitch.checked = localStorage.getItem("desk-alerts") === "on";
  notifySwitch.addEventListener("change", async () => {
    localStorage.setItem("desk-alerts", notifySwitch.checked ? "on" : "off");
    if (notifySwitch.checked && "Notification" in window && Notification.permission === "default") {
      await Notification.requestPermission(); // asked once, when the agent turns alerts on
    }
    announce(notifySwitch.checked ? "Alertes activées." : "Alertes désactivées.");
  });

  let audio = null;
  function beep() {
    try {
      audio = audio || new AudioContext();
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.08, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.25);
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.25);
    } catch (_) {
      // no sound available: the notification and the title still tell
    }
  }

  function alert(message) {
    window.__deskAlerts = (window.__deskAlerts || 0) + 1;
    if (!notifySwitch.checked) return;
    beep();
    if ("Notification" in window && Notification.permission === "granted" && document.hidden) {
      new Notification("Bureau des conseillers", { body: message, tag: "desk" });
    }
  }

  // -- keyboard shortcuts ----------------------------------------------------------------

  function typing(target) {
    return target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
  }

  function move(step) {
    if (!queue.length) return;
    const at = queue.findIndex((item) => item.id === selectedId);
    const next = queue[Math.min(queue.length - 1, Math.max(0, at < 0 ? 0 : at + step))];
    select(next.id).then(() => {
      const button = queueList.querySelector('button[data-id="' + CSS.escape(String(next.id)) + '"]');
      if (button) button.focus();
    });
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target) || $("help").open) return;
    const actions = {
      j: () => move(1),
      k: () => move(-1),
      c: () => { if (!claimButton.disabled) claimButton.click(); },
      r: () => { if (!replyBox.disabled) replyBox.focus(); },
      e: () => { if (!resolveButton.disabled) resolveButton.click(); },
      "/": () => $("search").focus(),
      "?": () => $("help").showModal(),
    };
    const action = actions[event.key];
    if (!action) return;
    event.preventDefault();
    action();
  });
  $("help-open").addEventListener("click", () => $("help").showModal());

  // -- the review of what the bot missed -----------------------------------------------------

  async function loadReview() {
    const data = await api("GET", "/api/review");
    const WHY = { none: "pas compris", clarified: "le client a choisi un autre problème", not_solved: "« Non » après la réponse" };
    const blocks = data.groups.map((group) => {
      const box = el("section", "review-group");
      box.append(el("h3", "", (WHY[group.reason] || group.reason) + " — " + group.name + " (" + group.count + ")"));
      const list = el("ul");
      for (const message of group.messages) {
        const li = el("li");
        const form = el("form", "label-form");
        const id = "label-" + message.id;
        const label = el("label", "", message.text || "(sans texte)");
        label.htmlFor = id;
        const choice = el("select");
        choice.id = id;
        for (const [intent, name] of Object.entries(labels)) {
          if (["greeting", "thanks"].includes(intent)) continue;
          const option = el("option", "", intent === "none" ? "Hors sujet" : name);
          option.value = intent;
          if (intent === group.intent) option.selected = true;
          choice.append(option);
        }
        const button = el("button", "", "Étiqueter");
        button.type = "submit";
        form.append(label, choice, button);
        form.addEventListener("submit", async (event) => {
          event.preventDefault();
          try {
            await api("POST", "/api/review/" + encodeURIComponent(message.id), { intent: choice.value });
            li.remove();
            announce("Message étiqueté.");
          } catch (problem) {
            toast("Étiquette non enregistrée (" + problem.message + ").");
          }
        });
        li.append(form);
        list.append(li);
      }
      box.append(list);
      return box;
    });
    if (!blocks.length) blocks.push(el("p", "empty", "Rien à revoir pour l'instant."));
    $("review").replaceChildren(...blocks);
  }
  $("review-panel").addEventListener("toggle", () => {
    if ($("review-panel").open) loadReview().catch((problem) => toast("Revue indisponible : " + problem.message));
  });

  // -- administration (admins) -----------------------------------------------------------

  async function loadAgents() {
    const data = await api("GET", "/api/agents");
    $("agent-names").replaceChildren(...data.agents.map((a) => { const o = el("option"); o.value = a.name; return o; }));
    $("agents").replaceChildren(...data.agents.map((a) => {
      const li = el("li");
      li.append(el("span", "", a.name + (a.role === "admin" ? " (admin)" : "")));
      if (a.name !== me) {
        const remove = el("button", "", "Retirer");
        remove.type = "button";
        remove.setAttribute("aria-label", "Retirer " + a.name);
        remove.addEventListener("click", async () => {
          if (!window.confirm("Retirer " + a.name + " ? Son jeton et ses sessions cessent aussitôt.")) return;
          try {
            await api("DELETE", "/api/agents/" + encodeURIComponent(a.name));
            announce(a.name + " retiré·e.");
          } catch (problem) {
            toast("Impossible de retirer " + a.name + " (" + problem.message + ").");
          }
          loadAgents();
        });
        li.append(remove);
      }
      return li;
    }));
  }

  function renderTeamReplies() {
    const team = replies.filter((r) => r.source === "team");
    $("team-replies").replaceChildren(...team.map((reply) => {
      const li = el("li");
      li.append(el("span", "", reply.title));
      const edit = el("button", "", "Modifier");
      edit.type = "button";
      edit.setAttribute("aria-label", "Modifier " + reply.title);
      edit.addEventListener("click", () => {
        $("team-reply-id").value = String(reply.id);
        $("team-reply-title").value = reply.title;
        $("team-reply-text").value = reply.text;
        $("team-reply-title").focus();
      });
      const remove = el("button", "", "Supprimer");
      remove.type = "button";
      remove.setAttribute("aria-label", "Supprimer " + reply.title);
      remove.addEventListener("click", async () => {
        try {
          await api("DELETE", "/api/replies/" + encodeURIComponent(reply.id));
        } catch (problem) {
          toast("Suppression impossible (" + problem.message + ").");
        }
        loadReplies();
      });
      li.append(edit, remove);
      return li;
    }));
  }

  if (admin) {
    $("admin-panel").addEventListener("toggle", () => {
      if ($("admin-panel").open) loadAgents().catch((problem) => toast("Conseillers indisponibles : " + problem.message));
    });
    $("agent-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const made = await api("POST", "/api/agents", { name: $("agent-name").value, role: $("agent-admin").checked ? "admin" : "agent" });
        $("agent-token").textContent = "Jeton de " + made.name + ", affiché une seule fois : " + made.token;
        $("agent-name").value = "";
        loadAgents();
      } catch (problem) {
        toast(problem.status === 409 ? "Ce nom est déjà pris." : "Conseiller non ajouté (" + problem.message + ").");
      }
    });
    $("team-reply-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const id = $("team-reply-id").value;
      const body = { title: $("team-reply-title").value, text: $("team-reply-text").value };
      try {
        await api(id ? "PUT" : "POST", "/api/replies" + (id ? "/" + encodeURIComponent(id) : ""), body);
        $("team-reply-id").value = "";
        $("team-reply-title").value = "";
        $("team-reply-text").value = "";
        announce("Réponse prête enregistrée.");
      } catch (problem) {
        toast("Réponse non enregistrée (" + problem.message + ").");
      }
      loadReplies();
    });
  }

  // -- live updates --------------------------------------------------------------------

  let pending = null;
  let detailToo = false;
  function refreshSoon(withDetail) {
    detailToo = detailToo || withDetail;
    if (pending) return;
    pending = setTimeout(async () => {
      const detail = detailToo;
      pending = null;
      detailToo = false;
      try {
        await Promise.all([countWaiting(), detail ? refreshDetail() : null]);
        await refreshQueue();
      } catch (problem) {
        toast("Mise à jour impossible : " + problem.message);
      }
    }, 100);
  }

  function onEvent(name, event) {
    let data = {};
    try {
      data = JSON.parse(event.data);
    } catch (_) {
      data = {};
    }
    const id = data.escalation_id;
    if (name === "escalation") announce("Nouvelle demande dans la file d'attente.");
    if (name === "message") {
      if (id !== selectedId || document.hidden) alert("Nouveau message d'un client.");
      if (id !== selectedId) unread.add(id);
    }
    if (name === "replies") loadReplies().catch(() => null);
    refreshSoon(id === selectedId);
  }

  function setLive(on) {
    const live = $("live");
    live.className = "live " + (on ? "on" : "off");
    live.textContent = on ? "En direct" : "Direct interrompu, reconnexion…";
  }

  let source = null;
  function connect() {
    source = new EventSource("/api/events", { withCredentials: true });
    source.addEventListener("open", () => {
      setLive(true);
      refreshSoon(true); // catch up on what happened while disconnected
    });
    source.addEventListener("error", () => {
      setLive(false);
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (an HTTP error): check the session, then try again.
        source.close();
        setTimeout(() => {
          refreshQueue().catch(() => null).finally(connect);
        }, 5000);
      }
    });
    for (const name of EVENTS) source.addEventListener(name, (event) => onEvent(name, event));
  }

  async function countWaiting() {
    waitingCount = (await api("GET", "/api/escalations?status=open")).escalations.length;
  }

  // Waiting times and windows move even when nothing happens.
  setInterval(() => {
    renderQueue();
    if (current) {
      renderBrief();
      const win = current.window;
      if (win && win.remaining_seconds != null && win.remaining_seconds - (Date.now() - currentAt) / 1000 <= 0) refreshSoon(true);
    }
  }, 20000);

  window.addEventListener("pagehide", () => { if (source) source.close(); });

  const fromHash = Number.parseInt(location.hash.slice(1), 10);
  loadReplies().catch(() => null);
  if (admin) loadAgents().catch(() => null);
  countWaiting()
    .then(refreshQueue)
    .then(() => (Number.isInteger(fromHash) ? select(fromHash) : null))
    .catch((problem) => toast("Chargement impossible : " + problem.message));
  connect();
})();
